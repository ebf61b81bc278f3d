<?php
// A PHP backend that learns who the TLS client is from the CERT cookie,
// through the ordinary cookie API ($_COOKIE).  Works under any PHP SAPI;
// to try it:  php -S 127.0.0.1:8080 index.php      (Debian: php-cli)
header('Content-Type: text/plain');
if (!isset($_COOKIE['CERT'])) {
	http_response_code(401);
	echo "no client certificate\n";
	exit;
}
$der = base64_decode(strtr($_COOKIE['CERT'], '-_', '+/'));
$pem = "-----BEGIN CERTIFICATE-----\n" .
    chunk_split(base64_encode($der), 64, "\n") .
    "-----END CERTIFICATE-----\n";
$cert = openssl_x509_parse($pem);
printf("subject: %s\nserial: %s\nsha256: %s\n", $cert['name'],
    strtolower(ltrim($cert['serialNumberHex'], '0')) ?: '0',
    hash('sha256', $der));
