// Reads what Istio's Go code reads from an injected pod, one JSON string per input line, decoded
// into the struct Istio decodes it into (unknown fields refused) and encoded again with
// encoding/json. Prints one line per input: the re-encoded value, or "error: ...". The first
// argument picks the struct:
//
//	status      sidecar.istio.io/status (the default): Istio 1.30's SidecarInjectionStatus
//	overrides   proxy.istio.io/overrides: the webhook's ParsedContainers (containers, initContainers)
//	prometheus  the proxy env ISTIO_PROMETHEUS_ANNOTATIONS: pilot-agent's PrometheusScrapeConfiguration
//
// Our text is what Istio reads when the two texts are equal.
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

// overrides has the keys of Istio 1.30's ParsedContainers; a container is kept as a JSON object
// (corev1.Container has too many fields to spell here), which must at least carry a name.
type overrides struct {
	Containers     []map[string]any `json:"containers,omitempty"`
	InitContainers []map[string]any `json:"initContainers,omitempty"`
}

// prometheus has the field names, JSON keys and order of pilot-agent's PrometheusScrapeConfiguration.
type prometheus struct {
	Scrape string `json:"scrape"`
	Path   string `json:"path"`
	Port   string `json:"port"`
}

// decode reads text strictly into the struct the mode names and encodes it again.
func decode(mode string, text string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.DisallowUnknownFields()
	switch mode {
	case "overrides":
		var o overrides
		if err := dec.Decode(&o); err != nil {
			return nil, err
		}
		for _, c := range append(append([]map[string]any{}, o.Containers...), o.InitContainers...) {
			if name, ok := c["name"].(string); !ok || name == "" {
				return nil, fmt.Errorf("a container without a name")
			}
		}
		return json.Marshal(o)
	case "prometheus":
		var p prometheus
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		return json.Marshal(p)
	default:
		var s status
		if err := dec.Decode(&s); err != nil {
			return nil, err
		}
		return json.Marshal(s)
	}
}

func main() {
	mode := "status"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
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
		again, err := decode(mode, text)
		if err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			continue
		}
		fmt.Fprintf(out, "%s\n", again)
	}
}
