// Reads sidecar.istio.io/status annotations the way Istio's Go code does: one JSON string per
// input line, decoded into a struct with Istio's five fields (unknown fields refused) and encoded
// again with encoding/json. Prints one line per input: the re-encoded record, or "error: ...".
// Our annotation is Istio's exactly when the two texts are equal.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// status has the field names, JSON keys and order of Istio 1.30's SidecarInjectionStatus.
type status struct {
	InitContainers   []string `json:"initContainers"`
	Containers       []string `json:"containers"`
	Volumes          []string `json:"volumes"`
	ImagePullSecrets []string `json:"imagePullSecrets"`
	Revision         string   `json:"revision"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		var text string
		if err := json.Unmarshal(in.Bytes(), &text); err != nil {
			fmt.Fprintf(out, "error: input line is not a JSON string: %v\n", err)
			continue
		}
		dec := json.NewDecoder(bytes.NewReader([]byte(text)))
		dec.DisallowUnknownFields()
		var s status
		if err := dec.Decode(&s); err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			continue
		}
		again, err := json.Marshal(s)
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			continue
		}
		fmt.Fprintf(out, "%s\n", again)
	}
}
