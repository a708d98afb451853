package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// CacheKey fingerprints an executor task: its component's interface, its executor and
// its resolved inputs (artifacts by URI). Labels and task names are left out, so the same
// component with the same inputs hits the cache from any task or pipeline. JSON encoding
// sorts map keys, which makes the hash stable.
func CacheKey(c *ir.ComponentSpec, e ir.ExecutorSpec, params map[string]any, arts map[string][]Artifact) string {
	uris := map[string][]string{}
	for k, l := range arts {
		for _, a := range l {
			uris[k] = append(uris[k], a.URI)
		}
	}
	b, _ := json.Marshal(struct {
		Inputs     *ir.ComponentInputs  `json:"inputs"`
		Outputs    *ir.ComponentOutputs `json:"outputs"`
		Executor   ir.ExecutorSpec      `json:"executor"`
		Parameters map[string]any       `json:"parameters"`
		Artifacts  map[string][]string  `json:"artifacts"`
	}{c.InputDefinitions, c.OutputDefinitions, e, params, uris})
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
