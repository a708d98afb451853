package suggest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

func init() { registerNAS("enas", func() NASAlgorithm { return enas{} }) }

// Bounds of enas's search, so its controller's state fits in the Suggestion.
const (
	// MaxENASWeights is the most weights the controller may have: 10h² + 2h + 2hn for
	// hidden size h and n operations (Katib's enas-cpu example, h 64 and 106
	// operations, has 54656). Its state is 8 bytes a weight.
	MaxENASWeights = 65536
	// MaxENASLayers is the most layers an enas search may have (the architecture has
	// L(L+1)/2 numbers).
	MaxENASLayers = 64
)

// enas is Katib's "enas": Efficient Neural Architecture Search's controller, an LSTM
// policy (enasPolicy) that samples each layer's operation and its skip connections,
// trained with REINFORCE on the trials' objective. Once as many trials as the first
// request asked for (parallelTrialCount) have succeeded since it last learned, a call
// trains the controller controller_train_steps Adam steps on them, then samples the new
// architectures; meanwhile it samples from the controller as it is. Single-trial updates
// (upstream trains on every call) make Adam follow one noisy sample: measured on the
// synthetic task, batches of 4 raised the reward in 10 of 10 seeds, single trials in 7.
//
// Where upstream feeds every step the mean objective of all trials so far with the
// log-probability of an architecture freshly sampled at that step (so the reward is not
// the sampled architecture's), kfup scores each trial's own architecture with its own
// objective, as the paper's REINFORCE does: the baseline is upstream's moving average
// (decay controller_baseline_decay, updated once a step with the batch's mean reward),
// the reward carries upstream's entropy bonus and the loss its skip penalty.
//
// The controller's state — weights, Adam's moments and step, the baseline, the random
// generator and which trials it learned from — is the NASResult's State: the manager
// keeps it in the Suggestion, so a restarted manager goes on exactly where it was.
type enas struct{}

// enasSettings are upstream's, with its defaults, in its order.
var enasSettings = []Setting{
	{Name: "controller_hidden_size", Default: "64", Help: "the LSTM's hidden size (a whole number ≥ 1)"},
	{Name: "controller_temperature", Default: "5.0", Help: "logits are divided by it (> 0, or None)"},
	{Name: "controller_tanh_const", Default: "2.25", Help: "logits are squashed to ±it by tanh (> 0, or None)"},
	{Name: "controller_entropy_weight", Default: "1e-05", Help: "weight of the entropy bonus in the reward (> 0, or None)"},
	{Name: "controller_baseline_decay", Default: "0.999", Help: "decay of the reward's moving average (in (0, 1])"},
	{Name: "controller_learning_rate", Default: "5e-05", Help: "Adam's learning rate (in (0, 1])"},
	{Name: "controller_skip_target", Default: "0.4", Help: "the skip connections' target rate (in (0, 1])"},
	{Name: "controller_skip_weight", Default: "0.8", Help: "weight of the skip penalty in the loss (> 0, or None)"},
	{Name: "controller_train_steps", Default: "50", Help: "Adam steps per batch of trials (a whole number ≥ 1)"},
	{Name: "controller_log_every_steps", Default: "10", Help: "how often the manager logs the training (a whole number ≥ 1)"},
}

// enasNoneable are the settings upstream lets be "None" (the term is left out).
var enasNoneable = map[string]bool{"controller_temperature": true, "controller_tanh_const": true, "controller_entropy_weight": true, "controller_skip_weight": true}

type enasConfig struct {
	hidden                                         int
	temp, tanhC, entropyW, decay, lr, skipT, skipW float64 // 0: None
	trainSteps, logEvery                           int
}

// Settings lists upstream's enas settings with their defaults.
func (enas) Settings() []Setting { return enasSettings }

// Assignments are upstream's: the architecture and its description.
func (enas) Assignments() []string { return []string{"architecture", "nn_config"} }

func parseEnasSettings(settings map[string]string) (enasConfig, error) {
	c := enasConfig{}
	for _, s := range enasSettings {
		v, given := settings[s.Name]
		if !given {
			v = s.Default
		}
		v = strings.TrimSpace(v)
		if v == "None" && enasNoneable[s.Name] {
			continue // 0 is None
		}
		switch s.Name {
		case "controller_hidden_size", "controller_train_steps", "controller_log_every_steps":
			n, err := strconv.Atoi(v)
			if err != nil {
				return c, fmt.Errorf("algorithmSettings %s: %q is not a whole number", s.Name, v)
			}
			if n < 1 {
				return c, fmt.Errorf("algorithmSettings %s: %d must be ≥ 1", s.Name, n)
			}
			switch s.Name {
			case "controller_hidden_size":
				c.hidden = n
			case "controller_train_steps":
				c.trainSteps = n
			default:
				c.logEvery = n
			}
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) {
			return c, fmt.Errorf("algorithmSettings %s: %q is not a number", s.Name, v)
		}
		bounded := s.Name == "controller_baseline_decay" || s.Name == "controller_learning_rate" || s.Name == "controller_skip_target"
		if f <= 0 || math.IsInf(f, 0) || (bounded && f > 1) {
			rng := "> 0"
			if bounded {
				rng = "in (0, 1]"
			}
			return c, fmt.Errorf("algorithmSettings %s: %s must be %s", s.Name, v, rng)
		}
		switch s.Name {
		case "controller_temperature":
			c.temp = f
		case "controller_tanh_const":
			c.tanhC = f
		case "controller_entropy_weight":
			c.entropyW = f
		case "controller_baseline_decay":
			c.decay = f
		case "controller_learning_rate":
			c.lr = f
		case "controller_skip_target":
			c.skipT = f
		case "controller_skip_weight":
			c.skipW = f
		}
	}
	return c, nil
}

// enasOp is one operation of the expanded search space: an operation type with one value
// for each of its parameters (upstream's Operation: opt_id, opt_type, opt_params).
type enasOp struct {
	id     int
	typ    string
	params pyDict
}

// expandEnas is upstream's SearchSpace: every combination of every operation's
// parameter values (the last parameter varying fastest), numbered from 0 across the
// operations in order. Categorical values stay strings; int ranges give ints
// (min … max by step, 1 when unset) and double ranges floats (min + i·step ≤ max).
func expandEnas(nas NAS) ([]enasOp, error) {
	var out []enasOp
	for i, op := range nas.Operations {
		field := fmt.Sprintf("nasConfig.operations[%d]", i)
		if err := expressible(field+".operationType", op.Type); err != nil {
			return nil, err
		}
		values := make([][]pyValue, len(op.Params))
		total := 1
		for j, p := range op.Params {
			pf := fmt.Sprintf("%s.parameters[%d]", field, j)
			if err := expressible(pf+".name", p.Name); err != nil {
				return nil, err
			}
			switch p.Kind {
			case Categorical:
				for _, v := range p.List {
					if err := expressible(pf+" value", v); err != nil {
						return nil, err
					}
					values[j] = append(values[j], pyStr(v))
				}
			case Int:
				step := int64(p.Step)
				if step == 0 {
					step = 1
				}
				for v := int64(p.Min); v <= int64(p.Max) && len(values[j]) <= MaxENASWeights; v += step {
					values[j] = append(values[j], pyInt(v))
				}
			case Double:
				if p.Step <= 0 {
					return nil, fmt.Errorf("%s (%s): a double parameter needs feasibleSpace.step > 0: enas picks from min, min+step, … ≤ max", pf, p.Name)
				}
				n := math.Ceil((p.Max + p.Step - p.Min) / p.Step)
				for k := 0; float64(k) < n && len(values[j]) <= MaxENASWeights; k++ {
					if v := p.Min + float64(k)*p.Step; v <= p.Max {
						values[j] = append(values[j], pyFloat(v))
					}
				}
			default:
				return nil, fmt.Errorf("%s (%s): parameterType %s cannot be expressed in Katib's enas encoding (upstream drops it): use categorical, int or double", pf, p.Name, p.Kind)
			}
			total *= len(values[j])
			if total > MaxENASWeights {
				return nil, fmt.Errorf("%s: more than %d combinations of parameter values: narrow the parameters", field, MaxENASWeights)
			}
		}
		idx := make([]int, len(values))
		for k := 0; k < total; k++ {
			d := make(pyDict, len(values))
			for j := range values {
				d[j] = pyItem{Key: op.Params[j].Name, Value: values[j][idx[j]]}
			}
			out = append(out, enasOp{id: len(out), typ: op.Type, params: d})
			for j := len(idx) - 1; j >= 0; j-- {
				if idx[j]++; idx[j] < len(values[j]) {
					break
				}
				idx[j] = 0
			}
		}
		if len(out) > MaxENASWeights {
			return nil, fmt.Errorf("nasConfig.operations: more than %d operations once expanded: narrow the parameters", MaxENASWeights)
		}
	}
	return out, nil
}

// Validate checks the graph (numLayers, inputSizes and outputSizes required, as
// upstream), the operations and the settings, and that the controller fits the bound.
func (enas) Validate(nas NAS, settings map[string]string) error {
	_, _, err := enasSetup(nas, settings)
	return err
}

func enasSetup(nas NAS, settings map[string]string) (enasConfig, []enasOp, error) {
	switch {
	case nas.NumLayers < 1:
		return enasConfig{}, nil, errors.New("nasConfig.graphConfig.numLayers is missing: enas needs the number of layers, ≥ 1")
	case nas.NumLayers > MaxENASLayers:
		return enasConfig{}, nil, fmt.Errorf("nasConfig.graphConfig.numLayers %d: kfup's enas takes at most %d layers", nas.NumLayers, MaxENASLayers)
	case len(nas.InputSizes) == 0:
		return enasConfig{}, nil, errors.New("nasConfig.graphConfig.inputSizes is missing: enas passes the input's shape to the trial")
	case len(nas.OutputSizes) == 0:
		return enasConfig{}, nil, errors.New("nasConfig.graphConfig.outputSizes is missing: enas passes the output's size to the trial")
	}
	for i, s := range nas.InputSizes {
		if s < 1 {
			return enasConfig{}, nil, fmt.Errorf("nasConfig.graphConfig.inputSizes[%d] is %d: sizes must be ≥ 1", i, s)
		}
	}
	for i, s := range nas.OutputSizes {
		if s < 1 {
			return enasConfig{}, nil, fmt.Errorf("nasConfig.graphConfig.outputSizes[%d] is %d: sizes must be ≥ 1", i, s)
		}
	}
	if err := nas.validateOperations(); err != nil {
		return enasConfig{}, nil, err
	}
	cfg, err := parseEnasSettings(settings)
	if err != nil {
		return cfg, nil, err
	}
	ops, err := expandEnas(nas)
	if err != nil {
		return cfg, nil, err
	}
	if n := enasWeightCount(cfg.hidden, len(ops)); n > MaxENASWeights {
		return cfg, nil, fmt.Errorf("the enas controller would have %d weights (controller_hidden_size %d, %d operations once expanded): kfup keeps at most %d so that its state fits in the Suggestion; lower controller_hidden_size or narrow the operations", n, cfg.hidden, len(ops), MaxENASWeights)
	}
	return cfg, ops, nil
}

// enasState is the controller between calls.
type enasState struct {
	policy   *enasPolicy
	m, v     []float64 // Adam's moments
	step     uint64    // Adam's step
	baseline float64
	rng      *rand.PCG
	learned  []byte // a bit per trial (in the Suggestion's order) already learned from
	// batch is how many new results a training round waits for: the first request's
	// count (the experiment's parallelTrialCount), as the paper samples a batch of
	// architectures per controller step.
	batch uint32
}

func newEnasState(cfg enasConfig, layers, nOps int, seed uint64) *enasState {
	lay := newEnasLayout(cfg.hidden, nOps)
	pol := &enasPolicy{h: cfg.hidden, n: nOps, layers: layers, temp: cfg.temp, tanhC: cfg.tanhC, skipTarget: cfg.skipT, w: make([]float64, lay.size), lay: lay}
	rng := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	r := rand.New(rng)
	for i := range pol.w { // upstream's initializer: uniform in ±0.01
		pol.w[i] = float64(float32(r.Float64()*0.02 - 0.01))
	}
	return &enasState{policy: pol, m: make([]float64, lay.size), v: make([]float64, lay.size), rng: rng}
}

const enasStateMagic = "kfup-enas-1"

// encode writes the state: the weights as float32, Adam's moments as bfloat16 (the
// top half of a float32, rounded), so 8 bytes a weight. Every call decodes it first,
// so a restarted manager computes exactly what one that lived on would.
func (s *enasState) encode() []byte {
	var b bytes.Buffer
	b.WriteString(enasStateMagic)
	p := s.policy
	put := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	put([3]uint32{uint32(p.h), uint32(p.n), uint32(p.layers)})
	put(s.step)
	put(s.batch)
	put(s.baseline)
	rb, _ := s.rng.MarshalBinary()
	put(uint32(len(rb)))
	b.Write(rb)
	put(uint32(len(s.learned)))
	b.Write(s.learned)
	for _, w := range p.w {
		put(math.Float32bits(float32(w)))
	}
	for _, arr := range [][]float64{s.m, s.v} {
		for _, x := range arr {
			put(toBF16(x))
		}
	}
	return b.Bytes()
}

func toBF16(x float64) uint16 {
	u := math.Float32bits(float32(x))
	u += 0x7fff + (u>>16)&1 // round to nearest even
	return uint16(u >> 16)
}

func fromBF16(u uint16) float64 { return float64(math.Float32frombits(uint32(u) << 16)) }

// decodeEnasState reads what encode wrote into a state made for cfg; a state of another
// shape is refused.
func decodeEnasState(data []byte, fresh *enasState) (*enasState, error) {
	r := bytes.NewReader(data)
	magic := make([]byte, len(enasStateMagic))
	if _, err := r.Read(magic); err != nil || string(magic) != enasStateMagic {
		return nil, errors.New("the enas state is not kfup's")
	}
	get := func(v any) error { return binary.Read(r, binary.LittleEndian, v) }
	var shape [3]uint32
	s := fresh
	p := s.policy
	if err := get(&shape); err != nil {
		return nil, err
	}
	if shape != [3]uint32{uint32(p.h), uint32(p.n), uint32(p.layers)} {
		return nil, fmt.Errorf("the enas state is of a controller of hidden size %d over %d operations and %d layers, not the experiment's", shape[0], shape[1], shape[2])
	}
	var n uint32
	if err := errors.Join(get(&s.step), get(&s.batch), get(&s.baseline), get(&n)); err != nil {
		return nil, err
	}
	rb := make([]byte, n)
	if _, err := r.Read(rb); err != nil {
		return nil, err
	}
	if err := s.rng.UnmarshalBinary(rb); err != nil {
		return nil, err
	}
	if err := get(&n); err != nil || int(n) > r.Len() {
		return nil, errors.New("the enas state is truncated")
	}
	s.learned = make([]byte, n)
	if _, err := r.Read(s.learned); n > 0 && err != nil {
		return nil, err
	}
	w32 := make([]uint32, len(p.w))
	m16, v16 := make([]uint16, len(p.w)), make([]uint16, len(p.w))
	if err := errors.Join(get(w32), get(m16), get(v16)); err != nil {
		return nil, fmt.Errorf("the enas state is truncated: %w", err)
	}
	for i := range p.w {
		p.w[i] = float64(math.Float32frombits(w32[i]))
		s.m[i], s.v[i] = fromBF16(m16[i]), fromBF16(v16[i])
	}
	return s, nil
}

func (s *enasState) hasLearned(i int) bool {
	return i/8 < len(s.learned) && s.learned[i/8]&(1<<(i%8)) != 0
}

func (s *enasState) markLearned(i int) {
	for len(s.learned) <= i/8 {
		s.learned = append(s.learned, 0)
	}
	s.learned[i/8] |= 1 << (i % 8)
}

// enasSample is one trial to learn from.
type enasSample struct {
	arch   enasArch
	reward float64
}

// train runs cfg.trainSteps Adam steps on the batch (TensorFlow's Adam: β1 0.9, β2
// 0.999, ε 1e-8), and returns a line every controller_log_every_steps steps, as
// upstream's service logs.
func (s *enasState) train(cfg enasConfig, batch []enasSample) (log []string) {
	p := s.policy
	g := make([]float64, len(p.w))
	for step := 0; step < cfg.trainSteps; step++ {
		clear(g)
		tapes := make([]*enasTape, len(batch))
		mean := 0.0
		rewards := make([]float64, len(batch))
		for i, b := range batch {
			tapes[i] = p.run(&batch[i].arch, nil)
			rewards[i] = b.reward + cfg.entropyW*tapes[i].entropy
			mean += rewards[i] / float64(len(batch))
		}
		s.baseline -= (1 - cfg.decay) * (s.baseline - mean)
		loss := 0.0
		for i := range batch {
			adv := (rewards[i] - s.baseline) / float64(len(batch))
			p.grad(&batch[i].arch, tapes[i], adv, cfg.skipW/float64(len(batch)), g)
			loss += tapes[i].nll*adv + cfg.skipW*tapes[i].kl/float64(len(batch))
		}
		s.step++
		if (step+1)%cfg.logEvery == 0 {
			entropy, skips := 0.0, 0
			for _, t := range tapes {
				entropy += t.entropy / float64(len(tapes))
				skips += t.skipSum
			}
			rate := 0.0
			if L := p.layers; L > 1 {
				rate = float64(skips) / float64(len(tapes)) / float64(L*(L-1)/2)
			}
			log = append(log, fmt.Sprintf("controller step %d: loss %.4f, entropy %.6g, baseline %.4f, skip rate %.4f", s.step, loss, entropy, s.baseline, rate))
		}
		b1, b2 := 0.9, 0.999
		lrT := cfg.lr * math.Sqrt(1-math.Pow(b2, float64(s.step))) / (1 - math.Pow(b1, float64(s.step)))
		for i := range p.w {
			s.m[i] = b1*s.m[i] + (1-b1)*g[i]
			s.v[i] = b2*s.v[i] + (1-b2)*g[i]*g[i]
			p.w[i] -= lrT * s.m[i] / (math.Sqrt(s.v[i]) + 1e-8)
		}
	}
	return log
}

// Suggest learns from the trials that ended with an objective since it last learned,
// once there are a batch of them (as many as the first request asked for), then samples
// req.Count architectures. It never waits for trials.
func (e enas) Suggest(req NASRequest) (NASResult, error) {
	cfg, ops, err := enasSetup(req.NAS, req.Settings)
	if err != nil {
		return NASResult{}, err
	}
	L := req.NAS.NumLayers
	st := newEnasState(cfg, L, len(ops), req.Seed)
	if req.State != nil {
		if st, err = decodeEnasState(req.State, st); err != nil {
			return NASResult{}, err
		}
	} else {
		st.batch = uint32(max(req.Count, 1))
	}
	var batch []enasSample
	var learned []int
	for i, t := range req.Trials {
		if !t.Done || t.Failed || t.EarlyStopped || t.Value == nil || st.hasLearned(i) {
			continue
		}
		arch, err := parseEnasArch(t.Assignments["architecture"], L, len(ops))
		if err != nil {
			return NASResult{}, fmt.Errorf("trial %s: %w", t.Name, err)
		}
		r := *t.Value
		if req.Goal == Minimize { // the controller maximizes, as upstream
			r = -r
		}
		batch = append(batch, enasSample{arch: arch, reward: r})
		learned = append(learned, i)
	}
	var log []string
	if len(batch) >= int(st.batch) { // else sample from the policy as it is, learn later
		log = st.train(cfg, batch)
		for _, i := range learned {
			st.markLearned(i)
		}
	}
	r := rand.New(st.rng)
	out := make([]Suggestion, req.Count)
	for i := range out {
		var arch enasArch
		st.policy.run(&arch, r)
		out[i] = Suggestion{Assignments: map[string]string{
			"architecture": katibEncode(arch.value()),
			"nn_config":    katibEncode(enasNNConfig(req.NAS, ops, arch)),
		}}
	}
	return NASResult{Suggestions: out, State: st.encode(), Log: log}, nil
}

// value is upstream's organized architecture: per layer [operation, skip bits…].
func (a enasArch) value() pyList {
	out := make(pyList, len(a.ops))
	for l, op := range a.ops {
		row := pyList{pyInt(op)}
		for _, s := range a.skips[l] {
			row = append(row, pyInt(s))
		}
		out[l] = row
	}
	return out
}

// enasNNConfig is upstream's nn_config: the graph, and the embedding of each operation
// the architecture uses (keyed by its id, in the order the layers first use them).
func enasNNConfig(nas NAS, ops []enasOp, a enasArch) pyDict {
	ints := func(v []int) pyList {
		out := make(pyList, len(v))
		for i, x := range v {
			out[i] = pyInt(x)
		}
		return out
	}
	var emb pyDict
	seen := map[int]bool{}
	for _, op := range a.ops {
		if seen[op] {
			continue
		}
		seen[op] = true
		o := ops[op]
		emb = append(emb, pyItem{Key: strconv.Itoa(o.id), Value: pyDict{
			{Key: "opt_id", Value: pyInt(o.id)},
			{Key: "opt_type", Value: pyStr(o.typ)},
			{Key: "opt_params", Value: o.params},
		}})
	}
	return pyDict{
		{Key: "num_layers", Value: pyInt(nas.NumLayers)},
		{Key: "input_sizes", Value: ints(nas.InputSizes)},
		{Key: "output_sizes", Value: ints(nas.OutputSizes)},
		{Key: "embedding", Value: emb},
	}
}

// parseEnasArch reads an architecture in Katib's encoding back, checking it against the
// space.
func parseEnasArch(s string, layers, nOps int) (enasArch, error) {
	var rows [][]int
	if err := json.Unmarshal([]byte(strings.ReplaceAll(s, "'", `"`)), &rows); err != nil {
		return enasArch{}, fmt.Errorf("architecture %q is not Katib's encoding: %w", s, err)
	}
	if len(rows) != layers {
		return enasArch{}, fmt.Errorf("architecture %q has %d layers, not %d", s, len(rows), layers)
	}
	a := enasArch{ops: make([]int, layers), skips: make([][]int, layers)}
	for l, row := range rows {
		if len(row) != l+1 || row[0] < 0 || row[0] >= nOps {
			return enasArch{}, fmt.Errorf("architecture %q: layer %d is not [operation < %d, %d skip bits]", s, l, nOps, l)
		}
		a.ops[l] = row[0]
		if l > 0 {
			a.skips[l] = row[1:]
		}
		for _, b := range row[1:] {
			if b != 0 && b != 1 {
				return enasArch{}, fmt.Errorf("architecture %q: layer %d has skip bit %d", s, l, b)
			}
		}
	}
	return a, nil
}
