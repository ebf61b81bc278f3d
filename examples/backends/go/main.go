// A Go backend that learns who the TLS client is from the CERT cookie,
// through the ordinary cookie API (net/http's Request.Cookie).
//
//	PORT=8080 go run main.go      (Debian: golang-go)
package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"os"
)

func whoami(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	c, err := r.Cookie("CERT")
	if err != nil {
		http.Error(w, "no client certificate", http.StatusUnauthorized)
		return
	}
	der, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		http.Error(w, "bad CERT cookie", http.StatusBadRequest)
		return
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		http.Error(w, "bad certificate", http.StatusBadRequest)
		return
	}
	fmt.Fprintf(w, "subject: %s\nserial: %s\nsha256: %x\n", cert.Subject,
		cert.SerialNumber.Text(16), sha256.Sum256(der))
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", whoami)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, nil))
}
