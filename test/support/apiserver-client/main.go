// Reads caBundles and calls webhooks the way kube-apiserver does: the bundle goes through
// x509.CertPool.AppendCertsFromPEM, and the HTTPS call verifies the server's certificate
// against that pool with the server name <service>.<namespace>.svc. Standard library only.
//
// Reads one JSON request per line on stdin and writes one JSON answer per line on stdout:
//
//	{"id":1,"caBundle":"<base64>"}                     -> {"id":1,"certs":["AB:CD:…"]}
//	{"id":2,"caBundle":"…","url":"https://127.0.0.1:8443/inject","serverName":"svc.ns.svc","body":"{…}"}
//	                                                   -> {"id":2,"certs":[…],"status":200,"uid":"…"}
//
// A failure of the call is reported in "error". Requests run concurrently; answers carry their id.
// Built and driven by test/support/apiserver-client.ts.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

type request struct {
	ID         int    `json:"id"`
	CABundle   string `json:"caBundle"`
	URL        string `json:"url"`
	ServerName string `json:"serverName"`
	Body       string `json:"body"`
}

type answer struct {
	ID     int      `json:"id"`
	Certs  []string `json:"certs"`
	Status int      `json:"status,omitempty"`
	UID    string   `json:"uid,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// fingerprint in the form Node prints X509Certificate.fingerprint256.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// certsOf lists what AppendCertsFromPEM adds, walking the text with the same decoder it uses.
func certsOf(bundle []byte) (*x509.CertPool, []string) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(bundle)
	certs := []string{}
	rest := bundle
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			continue
		}
		certs = append(certs, fingerprint(block.Bytes))
	}
	return pool, certs
}

// One client per (bundle, server name), as kube-apiserver caches a client per webhook client config.
var (
	clientsMu sync.Mutex
	clients   = map[string]*http.Client{}
)

func clientFor(bundle []byte, serverName string, pool *x509.CertPool) *http.Client {
	key := serverName + "\x00" + string(bundle)
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c, ok := clients[key]; ok {
		return c
	}
	c := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, ServerName: serverName, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	clients[key] = c
	return c
}

func handle(req request) answer {
	bundle, err := base64.StdEncoding.DecodeString(req.CABundle)
	if err != nil {
		return answer{ID: req.ID, Certs: []string{}, Error: "caBundle is not base64: " + err.Error()}
	}
	pool, certs := certsOf(bundle)
	out := answer{ID: req.ID, Certs: certs}
	if req.URL == "" {
		return out
	}
	resp, err := clientFor(bundle, req.ServerName, pool).Post(req.URL, "application/json", bytes.NewBufferString(req.Body))
	if err != nil {
		out.Error = err.Error()
		return out
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	out.Status = resp.StatusCode
	var review struct {
		Response struct {
			UID string `json:"uid"`
		} `json:"response"`
	}
	if json.Unmarshal(data, &review) == nil {
		out.UID = review.Response.UID
	}
	return out
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	var writeMu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	var wg sync.WaitGroup
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			writeMu.Lock()
			_ = enc.Encode(answer{ID: -1, Certs: []string{}, Error: "bad request line: " + err.Error()})
			writeMu.Unlock()
			continue
		}
		wg.Add(1)
		go func(r request) {
			defer wg.Done()
			a := handle(r)
			writeMu.Lock()
			_ = enc.Encode(a)
			writeMu.Unlock()
		}(req)
	}
	wg.Wait()
}
