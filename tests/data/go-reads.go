// Read each FILE given as Go's net/http server reads a connection that
// carries it, and print one JSON line per file, as node-reads.js does:
// {"file", "requests": [{"method", "url", "cookie", "certs", "body"}],
// "error"}; certs: the values of r.Cookies() named CERT in any case.
// Usage: go run go-reads.go FILE...
package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
)

type seen struct {
	Method string   `json:"method"`
	URL    string   `json:"url"`
	Cookie *string  `json:"cookie"`
	Certs  []string `json:"certs"`
	Body   int      `json:"body"`
}

type conn struct {
	mu   sync.Mutex
	reqs []seen
	err  string // a body Go refused to read: the connection ends there
}

type key struct{}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{
		MaxHeaderBytes: 1 << 20,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, key{}, conns.get(c))
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c := r.Context().Value(key{}).(*conn)
			b, berr := io.ReadAll(r.Body)
			s := seen{Method: latin1(r.Method),
				URL: latin1(r.RequestURI), Body: len(b),
				Certs: []string{}}
			for _, k := range r.Cookies() {
				if strings.EqualFold(k.Name, "CERT") {
					s.Certs = append(s.Certs, latin1(k.Value))
				}
			}
			if v := r.Header.Values("Cookie"); len(v) > 0 {
				j := latin1(strings.Join(v, "; "))
				s.Cookie = &j
			}
			c.mu.Lock()
			c.reqs = append(c.reqs, s)
			if berr != nil && c.err == "" {
				c.err = "body: " + berr.Error()
			}
			c.mu.Unlock()
			w.Header().Set("X-Seen", "1")
			io.WriteString(w, "ok")
		}),
	}
	go srv.Serve(ln)
	out := json.NewEncoder(os.Stdout)
	for _, f := range os.Args[1:] {
		data, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			panic(err)
		}
		local := c.LocalAddr().String()
		c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		resp, _ := io.ReadAll(c)
		c.Close()
		st := conns.take(local)
		var e interface{}
		// Go answers what it cannot parse itself, without X-Seen.
		for _, part := range strings.Split(string(resp), "HTTP/1.1 ")[1:] {
			if !strings.Contains(part, "X-Seen: 1") {
				line := strings.SplitN(part, "\r\n", 2)[0]
				e = line
				break
			}
		}
		if e == nil && st.err != "" {
			e = st.err
		}
		reqs := st.reqs
		if reqs == nil {
			reqs = []seen{}
		}
		out.Encode(map[string]interface{}{"file": f, "requests": reqs,
			"error": e})
	}
}

// The bytes of s as Latin-1, as Python and Node decode header bytes.
func latin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

type table struct {
	mu sync.Mutex
	m  map[string]*conn
}

var conns = &table{m: map[string]*conn{}}

// get is called with the server's side of the connection: its remote
// address is the client's local one.
func (t *table) get(c net.Conn) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := c.RemoteAddr().String()
	if t.m[k] == nil {
		t.m[k] = &conn{}
	}
	return t.m[k]
}

func (t *table) take(k string) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[k]
	delete(t.m, k)
	if c == nil {
		return &conn{}
	}
	return c
}
