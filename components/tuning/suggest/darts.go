package suggest

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

func init() { registerNAS("darts", func() NASAlgorithm { return darts{} }) }

// darts is Katib's "darts" (Liu et al., "DARTS: Differentiable Architecture Search",
// 2019). The search itself runs inside the trial, which trains a supernet whose mixed
// operations are weighted by learned architecture parameters; the suggestion only tells
// the trial what to search: its settings, the operations and the number of layers, in
// Katib's encoding, so Katib's darts-cnn-cifar10 trial image runs unchanged. Every
// suggestion is the same, as upstream's. It keeps no state.
type darts struct{}

// dartsSetting is one of Katib's darts settings with its default as the Python value
// upstream's service writes (an int or a float).
type dartsSetting struct {
	name string
	def  pyValue
	// check validates a value the user gave (Katib's validate_algorithm_settings).
	check func(string) error
}

func intAtLeast(min int64) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		if v < min {
			if min == 1 {
				return fmt.Errorf("%d: it must be ≥ 1", v)
			}
			return fmt.Errorf("%d: it must be ≥ %d", v, min)
		}
		return nil
	}
}

func floatAtLeastZero(s string) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	if !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("%s: it must be a finite number ≥ 0", s)
	}
	return nil
}

// dartsSettings are upstream's, in its order (the order of the encoded dict).
var dartsSettings = []dartsSetting{
	{"num_epochs", pyInt(50), intAtLeast(1)},
	{"w_lr", pyFloat(0.025), floatAtLeastZero},
	{"w_lr_min", pyFloat(0.001), floatAtLeastZero},
	{"w_momentum", pyFloat(0.9), floatAtLeastZero},
	{"w_weight_decay", pyFloat(3e-4), floatAtLeastZero},
	{"w_grad_clip", pyFloat(5), floatAtLeastZero},
	{"alpha_lr", pyFloat(3e-4), floatAtLeastZero},
	{"alpha_weight_decay", pyFloat(1e-3), floatAtLeastZero},
	{"batch_size", pyInt(128), func(s string) error {
		if s == "None" { // upstream's: the trial then uses its own batch size
			return nil
		}
		return intAtLeast(1)(s)
	}},
	{"num_workers", pyInt(4), intAtLeast(0)},
	{"init_channels", pyInt(16), intAtLeast(1)},
	{"print_step", pyInt(50), intAtLeast(1)},
	{"num_nodes", pyInt(4), intAtLeast(1)},
	{"stem_multiplier", pyInt(3), intAtLeast(1)},
}

// DartsSkipConnection is the operation type darts takes without parameters.
const DartsSkipConnection = "skip_connection"

// Settings lists upstream's darts settings with their defaults.
func (darts) Settings() []Setting {
	out := make([]Setting, len(dartsSettings))
	for i, s := range dartsSettings {
		var b strings.Builder
		s.def.writePy(&b)
		out[i] = Setting{Name: s.name, Default: b.String(), Help: "Katib's darts setting, passed to the trial"}
	}
	return out
}

// Assignments are upstream's: the settings, the operations and the number of layers.
func (darts) Assignments() []string {
	return []string{"algorithm-settings", "search-space", "num-layers"}
}

// Validate checks numLayers, the operations (each but skip_connection names its filter
// sizes in its first parameter's list, as upstream reads them) and the settings.
func (darts) Validate(nas NAS, settings map[string]string) error {
	if nas.NumLayers < 1 {
		return fmt.Errorf("nasConfig.graphConfig.numLayers is %d: darts needs the number of cells, ≥ 1", nas.NumLayers)
	}
	if err := nas.validateOperations(DartsSkipConnection); err != nil {
		return err
	}
	for i, op := range nas.Operations {
		field := fmt.Sprintf("nasConfig.operations[%d]", i)
		if err := expressible(field+".operationType", op.Type); err != nil {
			return err
		}
		if op.Type == DartsSkipConnection {
			continue
		}
		if p := op.Params[0]; p.Kind != Categorical && p.Kind != Discrete {
			return fmt.Errorf("%s (%s): darts reads the filter sizes from the first parameter's feasibleSpace.list, but %q is %s: make it categorical, e.g. list [\"3\", \"5\"]", field, op.Type, p.Name, p.Kind)
		}
		for _, v := range op.Params[0].List {
			if err := expressible(field+".parameters[0] value", v); err != nil {
				return err
			}
		}
	}
	for _, s := range dartsSettings {
		v, ok := settings[s.name]
		if !ok {
			continue
		}
		if err := s.check(v); err != nil {
			return fmt.Errorf("algorithmSettings %s: %w", s.name, err)
		}
		if err := expressible("algorithmSettings "+s.name, v); err != nil {
			return err
		}
	}
	return nil
}

// Suggest gives req.Count copies of the one assignment.
func (d darts) Suggest(req NASRequest) (NASResult, error) {
	if err := d.Validate(req.NAS, req.Settings); err != nil {
		return NASResult{}, err
	}
	a := map[string]string{
		"algorithm-settings": katibEncode(dartsSettingsValue(req.Settings)),
		"search-space":       katibEncode(dartsSearchSpace(req.NAS)),
		"num-layers":         strconv.Itoa(req.NAS.NumLayers),
	}
	out := make([]Suggestion, req.Count)
	for i := range out {
		out[i] = Suggestion{Assignments: a}
	}
	return NASResult{Suggestions: out}, nil
}

// dartsSettingsValue is upstream's settings dict: every default, each replaced by the
// user's value as the string given ("None" as null).
func dartsSettingsValue(settings map[string]string) pyDict {
	out := make(pyDict, len(dartsSettings))
	for i, s := range dartsSettings {
		out[i] = pyItem{Key: s.name, Value: s.def}
		if v, ok := settings[s.name]; ok {
			if v == "None" {
				out[i].Value = pyNull{}
			} else {
				out[i].Value = pyStr(v)
			}
		}
	}
	return out
}

// dartsSearchSpace is upstream's list of primitives: skip_connection as is, every other
// operation once per filter size, "<type>_<k>x<k>".
func dartsSearchSpace(nas NAS) pyList {
	var out pyList
	for _, op := range nas.Operations {
		if op.Type == DartsSkipConnection {
			out = append(out, pyStr(op.Type))
			continue
		}
		for _, k := range op.Params[0].List {
			out = append(out, pyStr(fmt.Sprintf("%s_%sx%s", op.Type, k, k)))
		}
	}
	return out
}
