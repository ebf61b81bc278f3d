// Read Cookie field values, one a line in hex, and print for each what
// Debian's node-cookie (the parser of Express's cookie-parser) finds in
// it: one JSON line of [name, value] pairs.  Node's HTTP server hands
// header values over as latin-1 strings, and so does this.
// Usage: NODE_PATH=/usr/share/nodejs node cookie-reads.js < HEXLINES
'use strict';
const cookie = require('cookie');

let data = '';
process.stdin.setEncoding('latin1');
process.stdin.on('data', (c) => { data += c; });
process.stdin.on('end', () => {
	const out = [];
	for (const line of data.split('\n')) {
		if (line === '')
			continue;
		const h = Buffer.from(line, 'hex').toString('latin1');
		out.push(JSON.stringify(Object.entries(cookie.parse(h))));
	}
	process.stdout.write(out.join('\n') + '\n');
});
