package suggest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fixtures below are what Katib's suggestion services send, written down from their
// documented format and code's behaviour (Python's json.dumps, then " → ').

func TestPyRepr(t *testing.T) {
	tenth := 0.1 // a variable: Go's constant arithmetic would be exact
	for f, want := range map[float64]string{
		5: "5.0", 2.25: "2.25", 1e-5: "1e-05", 0.999: "0.999", 5e-5: "5e-05", tenth + 2*tenth: "0.30000000000000004",
		1e16: "1e+16", 1e15: "1000000000000000.0", 123456789012345678: "1.2345678901234568e+17", 0.0001: "0.0001",
		-0.5: "-0.5", 3e-4: "0.0003", 1.5e-7: "1.5e-07", 0: "0.0",
	} {
		if got := pyRepr(f); got != want {
			t.Errorf("pyRepr(%v) = %s, Python says %s", f, got, want)
		}
	}
	var b strings.Builder
	pyStr("né\u2603\U0001F600\"\\\x01\x7f\n").writePy(&b)
	if want := `"n\u00e9\u2603\ud83d\ude00\"\\\u0001\u007f\n"`; b.String() != want {
		t.Errorf("string = %s, Python's json.dumps says %s", b.String(), want)
	}
}

func cat(name string, list ...string) Param { return Param{Name: name, Kind: Categorical, List: list} }

// dartsCPU is upstream's darts-cpu example's nasConfig.
var dartsCPU = NAS{NumLayers: 1, Operations: []Operation{{Type: "max_pooling", Params: Space{cat("filter_size", "3")}}}}

func TestDartsKatibEncoding(t *testing.T) {
	a, err := CheckNAS("darts", dartsCPU, map[string]string{"num_epochs": "1", "num_nodes": "1", "init_channels": "1", "stem_multiplier": "1"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Suggest(NASRequest{NAS: dartsCPU, Settings: map[string]string{"num_epochs": "1", "num_nodes": "1", "init_channels": "1", "stem_multiplier": "1"}, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"algorithm-settings": "{'num_epochs': '1', 'w_lr': 0.025, 'w_lr_min': 0.001, 'w_momentum': 0.9, 'w_weight_decay': 0.0003, 'w_grad_clip': 5.0, 'alpha_lr': 0.0003, 'alpha_weight_decay': 0.001, 'batch_size': 128, 'num_workers': 4, 'init_channels': '1', 'print_step': 50, 'num_nodes': '1', 'stem_multiplier': '1'}",
		"search-space":       "['max_pooling_3x3']",
		"num-layers":         "1",
	}
	if len(res.Suggestions) != 2 || res.State != nil {
		t.Fatalf("got %d suggestions and state %v: want 2 and none", len(res.Suggestions), res.State)
	}
	for _, s := range res.Suggestions {
		if d := cmp.Diff(want, s.Assignments); d != "" {
			t.Errorf("assignments (-Katib +kfup):\n%s", d)
		}
	}

	// darts-gpu's operations: several filter sizes, skip_connection without parameters;
	// a "None" batch size is null, a given value its string.
	gpu := NAS{NumLayers: 3, Operations: []Operation{
		{Type: "separable_convolution", Params: Space{cat("filter_size", "3")}},
		{Type: "dilated_convolution", Params: Space{cat("filter_size", "3", "5")}},
		{Type: "skip_connection"},
	}}
	res, err = darts{}.Suggest(NASRequest{NAS: gpu, Settings: map[string]string{"batch_size": "None", "w_lr": "0.1", "num_epochs": "1", "num_nodes": "1", "init_channels": "1", "stem_multiplier": "1"}, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Suggestions[0].Assignments
	if w := "['separable_convolution_3x3', 'dilated_convolution_3x3', 'dilated_convolution_5x5', 'skip_connection']"; got["search-space"] != w {
		t.Errorf("search-space = %s, want %s", got["search-space"], w)
	}
	if w := "{'num_epochs': '1', 'w_lr': '0.1', 'w_lr_min': 0.001, 'w_momentum': 0.9, 'w_weight_decay': 0.0003, 'w_grad_clip': 5.0, 'alpha_lr': 0.0003, 'alpha_weight_decay': 0.001, 'batch_size': null, 'num_workers': 4, 'init_channels': '1', 'print_step': 50, 'num_nodes': '1', 'stem_multiplier': '1'}"; got["algorithm-settings"] != w {
		t.Errorf("algorithm-settings = %s\nwant %s", got["algorithm-settings"], w)
	}
	if got["num-layers"] != "3" {
		t.Errorf("num-layers = %s", got["num-layers"])
	}
}

func TestDartsRefuses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		nas      NAS
		settings map[string]string
		want     []string
	}{
		{"unknown setting", dartsCPU, map[string]string{"controller_hidden_size": "64"}, []string{"unknown algorithmSettings controller_hidden_size", "num_epochs"}},
		{"epochs zero", dartsCPU, map[string]string{"num_epochs": "0"}, []string{"algorithmSettings num_epochs", "≥ 1"}},
		{"lr negative", dartsCPU, map[string]string{"w_lr": "-1"}, []string{"algorithmSettings w_lr", "≥ 0"}},
		{"workers not a number", dartsCPU, map[string]string{"num_workers": "four"}, []string{"algorithmSettings num_workers", "not a whole number"}},
		{"None where not allowed", dartsCPU, map[string]string{"num_nodes": "None"}, []string{"algorithmSettings num_nodes"}},
		{"no layers", NAS{Operations: dartsCPU.Operations}, nil, []string{"nasConfig.graphConfig.numLayers"}},
		{"no operations", NAS{NumLayers: 1}, nil, []string{"nasConfig.operations is empty"}},
		{"operation without parameters", NAS{NumLayers: 1, Operations: []Operation{{Type: "max_pooling"}}}, nil, []string{"nasConfig.operations[0] (max_pooling)", "no parameters"}},
		{"filter sizes not a list", NAS{NumLayers: 1, Operations: []Operation{{Type: "max_pooling", Params: Space{{Name: "filter_size", Kind: Int, Min: 3, Max: 5}}}}}, nil, []string{"nasConfig.operations[0] (max_pooling)", "first parameter's feasibleSpace.list"}},
		{"a quote the encoding cannot carry", NAS{NumLayers: 1, Operations: []Operation{{Type: "max'pool", Params: Space{cat("k", "3")}}}}, nil, []string{"nasConfig.operations[0].operationType", "single quote"}},
		{"empty list", NAS{NumLayers: 1, Operations: []Operation{{Type: "max_pooling", Params: Space{cat("k")}}}}, nil, []string{"nasConfig.operations[0].parameters[0]", "list is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckNAS("darts", tc.nas, tc.settings)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	if _, err := CheckNAS("random", dartsCPU, nil); err == nil || !strings.Contains(err.Error(), "does not search architectures") {
		t.Errorf("an HPO algorithm with nasConfig: %v", err)
	}
	if _, err := Lookup("enas"); err == nil || !strings.Contains(err.Error(), "spec.nasConfig") {
		t.Errorf("enas with parameters: %v", err)
	}
}
