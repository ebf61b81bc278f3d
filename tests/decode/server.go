// A Go net/http backend reading the CERT cookie with r.Cookie and
// base64.RawURLEncoding, answering with the DER bytes.
// Usage: server PORT
package main

import (
	"encoding/base64"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/base64url", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("CERT")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		der, err := base64.RawURLEncoding.DecodeString(c.Value)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(der)
	})
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
}
