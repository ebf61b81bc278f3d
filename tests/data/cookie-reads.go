// Read Cookie field values, one a line in hex, and print for each the
// cookies that Go's net/http finds in it, as one JSON line of [name,
// value] pairs in order: what r.Cookies() and r.Cookie(name) return.
// Usage: go run cookie-reads.go < HEXLINES
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		b, err := hex.DecodeString(in.Text())
		if err != nil {
			panic(err)
		}
		r := http.Request{Header: http.Header{"Cookie": {string(b)}}}
		pairs := [][2]string{}
		for _, c := range r.Cookies() {
			pairs = append(pairs, [2]string{c.Name, c.Value})
		}
		j, _ := json.Marshal(pairs)
		out.Write(append(j, '\n'))
	}
}
