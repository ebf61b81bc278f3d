// An Express backend that learns who the TLS client is from the CERT
// cookie, through the ordinary cookie API (cookie-parser's req.cookies).
//   PORT=8080 node app.js        (Debian: nodejs node-express node-cookie-parser)
'use strict';
const crypto = require('crypto');
const express = require('express');
const cookieParser = require('cookie-parser');

const app = express();
app.use(cookieParser());
app.use((req, res) => {
	const v = req.cookies.CERT;
	res.type('text/plain');
	if (v === undefined)
		return res.status(401).send('no client certificate\n');
	const der = Buffer.from(v, 'base64url');
	const cert = new crypto.X509Certificate(der);
	const sha256 = crypto.createHash('sha256').update(der).digest('hex');
	res.send(`subject: ${cert.subject.split('\n').join(', ')}\n` +
	    `serial: ${BigInt('0x' + cert.serialNumber).toString(16)}\n` +
	    `sha256: ${sha256}\n`);
});
app.listen(Number(process.env.PORT || 8080), '127.0.0.1');
