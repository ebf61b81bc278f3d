// Read each FILE given as Node's HTTP server (llhttp, strict) reads a
// connection that carries it, and print one JSON line per file:
// {"file", "requests": [{"method", "url", "cookie", "certs", "body"}],
// "error"}; certs: the values of the cookie module's (Express's) keys
// that equal CERT ignoring case.
// Usage: NODE_PATH=/usr/share/nodejs node node-reads.js FILE...
'use strict';
const fs = require('fs');
const http = require('http');
const net = require('net');
const cookie = require('cookie');

const server = http.createServer({ maxHeaderSize: 1 << 20 },
    (req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const jar = req.headers.cookie === undefined ? {} :
		    cookie.parse(req.headers.cookie);
		req.socket.seen.push({
			certs: Object.keys(jar).filter((k) =>
			    k.trim().toLowerCase() === 'cert').map((k) => jar[k]),
			method: req.method,
			url: req.url,
			cookie: req.headers.cookie === undefined ?
			    null : req.headers.cookie,
			body: Buffer.concat(chunks).length,
		});
		res.end('ok');
	});
});
server.on('connection', (s) => { s.seen = []; });
server.on('clientError', (err, s) => {
	s.error = err.code || String(err);
	s.destroy();
});

function one(file) {
	return new Promise((resolve) => {
		const c = net.connect(server.address().port, '127.0.0.1');
		let sock = null;
		server.once('connection', (s) => {
			sock = s;
			s.on('close', () => resolve({
				file: file, requests: s.seen,
				error: s.error || null,
			}));
		});
		c.on('error', () => {});
		c.on('data', () => {});
		c.end(fs.readFileSync(file));
	});
}

server.listen(0, '127.0.0.1', async () => {
	for (const f of process.argv.slice(2))
		console.log(JSON.stringify(await one(f)));
	server.close();
});
