// Applies JSON patches with evanphx/json-patch, the library kube-apiserver applies admission
// patches with. Reads {"doc":…,"patch":"<base64>"} values from stdin, writes {"doc":…} or
// {"error":…} for each to stdout. The patch arrives base64-encoded, as in an AdmissionResponse,
// and is decoded the way kube-apiserver decodes AdmissionResponse.Patch: encoding/json into a
// []byte. Built and driven by test/patch/evanphx.test.ts.
package main

import (
	"encoding/json"
	"os"

	jsonpatch "github.com/evanphx/json-patch"
)

type item struct {
	Doc   json.RawMessage `json:"doc"`
	Patch []byte          `json:"patch"`
}

type result struct {
	Doc   json.RawMessage `json:"doc,omitempty"`
	Error string          `json:"error,omitempty"`
}

func main() {
	dec := json.NewDecoder(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for {
		var it item
		if err := dec.Decode(&it); err != nil {
			return
		}
		patch, err := jsonpatch.DecodePatch(it.Patch)
		if err != nil {
			_ = enc.Encode(result{Error: err.Error()})
			continue
		}
		out, err := patch.Apply(it.Doc)
		if err != nil {
			_ = enc.Encode(result{Error: err.Error()})
			continue
		}
		_ = enc.Encode(result{Doc: out})
	}
}
