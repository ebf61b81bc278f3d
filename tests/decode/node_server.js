// node_server.js http|express PORT: a Node backend reading the CERT
// cookie with the `cookie` module on plain `http`, or with Express and
// cookie-parser (req.cookies), answering with the DER bytes.
'use strict';
const crypto = require('crypto');
const http = require('http');

function decode(kind, v, header) {
	if (kind === '/header')
		return Buffer.from(header.replace(/^:|:$/g, ''), 'base64');
	if (typeof v !== 'string')
		throw new Error('no CERT cookie');
	switch (kind) {
	case '/base64url':
		return Buffer.from(v, 'base64url');
	case '/base64':
		return Buffer.from(v, 'base64');
	case '/pem-url':
		return new crypto.X509Certificate(v).raw;
	case '/rfc9440':
		return Buffer.from(v.replace(/^:|:$/g, ''), 'base64');
	}
	throw new Error('no such encoding');
}

// The --fields cookies, one a line, as the cookie parser decoded them.
function fields(c) {
	return Buffer.from(['S_DN', 'I_DN', 'SERIAL', 'V_START', 'V_END',
	    'SHA256'].map((f) => (c['CERT_' + f] || '(none)') + '\n').join(''));
}

function answer(res, kind, c, header) {
	let body, code = 200;
	try {
		body = kind === '/fields' ? fields(c) :
		    decode(kind, c.CERT, header);
	} catch (e) {
		body = Buffer.from(String(e)), code = 500;
	}
	res.writeHead(code, { 'Content-Type': 'application/octet-stream',
	    'Content-Length': body.length, 'Connection': 'close' });
	res.end(body);
}

const mode = process.argv[2], port = Number(process.argv[3]);
if (mode === 'express') {
	const express = require('express');
	const cookieParser = require('cookie-parser');
	const app = express();
	app.use(cookieParser());
	app.use((req, res) => answer(res, req.path, req.cookies,
	    req.get('Client-Cert') || ''));
	app.listen(port, '127.0.0.1');
} else {
	const cookie = require('cookie');
	http.createServer((req, res) => {
		const c = cookie.parse(req.headers.cookie || '');
		answer(res, req.url, c, req.headers['client-cert'] || '');
	}).listen(port, '127.0.0.1');
}
