#!/bin/sh
# certcookie alone, as a filter in a shell pipeline: HTTP requests in, the
# same requests out with the client's CERT cookies removed and the
# certificate added as CERT=<base64url DER>.  No TLS, no network.
#   examples/pipeline.sh demo/pki/client.pem [REQUEST-FILE] > rewritten.http
# REQUEST-FILE defaults to examples/request.http: two pipelined requests,
# the first with a forged CERT cookie.  Exit status 65 means a request in
# the file was malformed; those before it are written whole.
set -eu
cert=${1:?usage: pipeline.sh CLIENT-CERT.pem [REQUEST-FILE]}
req=${2:-$(dirname "$0")/request.http}
cat "$req" | certcookie --cert-file "$cert"
