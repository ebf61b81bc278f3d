<?php
/*
 * The PHP built-in server's router: read the CERT cookie from $_COOKIE,
 * decode it as the request path says, answer with the DER bytes.
 */
function pem_to_der($pem)
{
	if (!preg_match('/-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+\/=\n]+)' .
	    '-----END CERTIFICATE-----\n$/', $pem, $m))
		return false;
	return base64_decode(str_replace("\n", '', $m[1]), true);
}

$v = $_COOKIE['CERT'] ?? null;
if ($_SERVER['REQUEST_URI'] === '/fields') {
	/* The --fields cookies, one a line, as $_COOKIE decodes them. */
	foreach (['S_DN', 'I_DN', 'SERIAL', 'V_START', 'V_END', 'SHA256'] as $f)
		echo $_COOKIE["CERT_$f"] ?? '(none)', "\n";
	return;
}
switch (parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH)) {
case '/base64url':
	$der = $v === null ? false : base64_decode(strtr($v, '-_', '+/'), true);
	break;
case '/base64':
	$der = $v === null ? false : base64_decode($v, true);
	break;
case '/pem-url':
	$der = $v === null ? false : pem_to_der($v);
	break;
case '/rfc9440':
	$der = $v === null ? false : base64_decode(trim($v, ':'), true);
	break;
case '/header':
	$h = $_SERVER['HTTP_CLIENT_CERT'] ?? null;
	$der = $h === null ? false : base64_decode(trim($h, ':'), true);
	break;
default:
	$der = false;
}
if ($der === false) {
	http_response_code(500);
	echo "cannot decode: ", var_export($v, true);
	return;
}
header('Content-Type: application/octet-stream');
echo $der;
