// Express with 'trust proxy': req.ip, req.protocol and every forwarding
// field that reached it.  PORT in the environment.
'use strict';
const express = require('express');

const app = express();
app.set('trust proxy', true);
app.use((req, res) => {
	const seen = [];
	for (let i = 0; i < req.rawHeaders.length; i += 2)
		if (/forwarded/i.test(req.rawHeaders[i]))
			seen.push(`${req.rawHeaders[i]}=${req.rawHeaders[i + 1]}`);
	res.type('text/plain').send(`${req.ip} ${req.protocol} ` +
	    `${req.get('X-Forwarded-Port')} | ${seen.sort().join(' ')}\n`);
});
app.listen(Number(process.env.PORT), '127.0.0.1');
