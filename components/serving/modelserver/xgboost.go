package modelserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Model is an XGBoost model (gbtree, dart or gblinear) ready to score rows. It computes in float32 in the
// order XGBoost does (base margin, then each tree's leaf in tree order, then the
// objective's transform), so its predictions match booster.predict.
type Model struct {
	objective  string
	numFeature int
	groups     int       // output groups: num_class for multi:*, else 1
	baseMargin []float32 // per group, in margin space
	trees      []tree
	treeGroup  []int     // the group each tree adds to (tree_info)
	treeWeight []float32 // dart: each tree's weight_drop; nil for gbtree
	linear     []float32 // gblinear: (num_feature+1) x groups weights, the bias row last
}

type tree struct {
	left, right []int32
	feature     []int32
	cond        []float32 // split threshold; the leaf value on a leaf
	defaultLeft []bool
	cats        map[int32][]uint32 // categorical splits: the bit set of categories going right
}

// objectives kfup evaluates: how base_score (stored in output space) becomes a margin.
var objectives = map[string]func(float32) float32{
	"reg:squarederror": identity,
	"reg:linear":       identity,
	"reg:logistic":     logit,
	"binary:logistic":  logit,
	"binary:logitraw":  identity, // XGBoost takes its base_score as a margin as is
	"multi:softprob":   identity,
	"multi:softmax":    identity,
	"count:poisson":    logf32,
	"reg:gamma":        logf32,
	"reg:tweedie":      logf32,
	"rank:pairwise":    identity,
	"rank:ndcg":        identity,
	"rank:map":         identity,
}

func identity(x float32) float32 { return x }
func logit(x float32) float32    { return -float32(math.Log(float64(1/x - 1))) }
func logf32(x float32) float32   { return float32(math.Log(float64(x))) }

// flag is a JSON 0/1 or false/true (default_left is either, by XGBoost version).
type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "1", "true":
		*f = true
	case "0", "false":
		*f = false
	default:
		return fmt.Errorf("want 0, 1, true or false, got %s", b)
	}
	return nil
}

type jsonModel struct {
	Learner struct {
		LearnerModelParam struct {
			BaseScore  string `json:"base_score"`
			NumClass   string `json:"num_class"`
			NumFeature string `json:"num_feature"`
			NumTarget  string `json:"num_target"`
		} `json:"learner_model_param"`
		Objective struct {
			Name string `json:"name"`
		} `json:"objective"`
		GradientBooster struct {
			Name   string    `json:"name"`
			Model  jsonTrees `json:"model"`
			GBTree *struct { // dart: the trees, each scaled by its weight_drop
				Model jsonTrees `json:"model"`
			} `json:"gbtree"`
			WeightDrop []float32 `json:"weight_drop"`
		} `json:"gradient_booster"`
	} `json:"learner"`
}

type jsonTrees struct {
	TreeInfo []int      `json:"tree_info"`
	Trees    []jsonTree `json:"trees"`
	Weights  []float32  `json:"weights"` // gblinear
}

type jsonTree struct {
	LeftChildren    []int32   `json:"left_children"`
	RightChildren   []int32   `json:"right_children"`
	SplitIndices    []int32   `json:"split_indices"`
	SplitConditions []float32 `json:"split_conditions"`
	DefaultLeft     []flag    `json:"default_left"`
	SplitType       []int     `json:"split_type"`
	Categories      []int64   `json:"categories"`
	CategoriesNodes []int32   `json:"categories_nodes"`
	CategoriesSegs  []int     `json:"categories_segments"`
	CategoriesSizes []int     `json:"categories_sizes"`
	TreeParam       struct {
		SizeLeafVector string `json:"size_leaf_vector"`
	} `json:"tree_param"`
}

// LoadXGBoost reads a model saved by booster.save_model: JSON (.json) or Universal Binary
// JSON (.ubj). The old binary format (.bst, .model) is refused with a hint.
func LoadXGBoost(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read xgboost model: %w", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return ParseXGBoostJSON(b)
	case ".ubj":
		v, err := decodeUBJ(b)
		if err != nil {
			return nil, fmt.Errorf("parse xgboost model %s: %w", path, err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("parse xgboost model %s: %w", path, err)
		}
		return ParseXGBoostJSON(j)
	default:
		return nil, fmt.Errorf("xgboost model %s: only JSON (.json) and UBJ (.ubj) models are served; re-save it with booster.save_model(\"model.json\")", path)
	}
}

// ParseXGBoostJSON builds a Model from XGBoost's JSON model format.
func ParseXGBoostJSON(b []byte) (*Model, error) {
	var j jsonModel
	if err := json.Unmarshal(nanToNull(b), &j); err != nil {
		return nil, fmt.Errorf("parse xgboost model: %w", err)
	}
	l := j.Learner
	obj := l.Objective.Name
	toMargin, ok := objectives[obj]
	if !ok {
		return nil, fmt.Errorf("xgboost objective %q is not served (served: %s)", obj, strings.Join(objectiveNames(), ", "))
	}
	if nt := l.LearnerModelParam.NumTarget; nt != "" && nt != "1" {
		return nil, fmt.Errorf("xgboost models with %s targets are not served, only one", nt)
	}
	m := &Model{objective: obj, groups: 1}
	var err error
	if m.numFeature, err = strconv.Atoi(l.LearnerModelParam.NumFeature); err != nil || m.numFeature < 1 {
		return nil, fmt.Errorf("xgboost model: bad num_feature %q", l.LearnerModelParam.NumFeature)
	}
	if nc := l.LearnerModelParam.NumClass; nc != "" && nc != "0" {
		if m.groups, err = strconv.Atoi(nc); err != nil || m.groups < 1 {
			return nil, fmt.Errorf("xgboost model: bad num_class %q", nc)
		}
	}
	base, err := parseBaseScore(l.LearnerModelParam.BaseScore, m.groups)
	if err != nil {
		return nil, err
	}
	for _, b := range base {
		m.baseMargin = append(m.baseMargin, toMargin(b))
	}
	gb := l.GradientBooster.Model
	switch name := l.GradientBooster.Name; name {
	case "gbtree":
	case "dart":
		if l.GradientBooster.GBTree == nil {
			return nil, fmt.Errorf("xgboost model: dart booster without its gbtree")
		}
		gb = l.GradientBooster.GBTree.Model
		if len(l.GradientBooster.WeightDrop) != len(gb.Trees) {
			return nil, fmt.Errorf("xgboost model: %d dart trees but %d weight_drop entries", len(gb.Trees), len(l.GradientBooster.WeightDrop))
		}
		m.treeWeight = l.GradientBooster.WeightDrop
	case "gblinear":
		if want := (m.numFeature + 1) * m.groups; len(gb.Weights) != want {
			return nil, fmt.Errorf("xgboost model: gblinear has %d weights, want %d", len(gb.Weights), want)
		}
		m.linear = gb.Weights
		return m, nil
	default:
		return nil, fmt.Errorf("xgboost booster %q is not served (served: gbtree, dart, gblinear)", name)
	}
	if len(gb.TreeInfo) != len(gb.Trees) {
		return nil, fmt.Errorf("xgboost model: %d trees but tree_info has %d entries", len(gb.Trees), len(gb.TreeInfo))
	}
	for i, jt := range gb.Trees {
		t, err := jt.tree(m.numFeature)
		if err != nil {
			return nil, fmt.Errorf("xgboost model: tree %d: %w", i, err)
		}
		if g := gb.TreeInfo[i]; g < 0 || g >= m.groups {
			return nil, fmt.Errorf("xgboost model: tree %d adds to group %d of %d", i, g, m.groups)
		}
		m.trees = append(m.trees, t)
	}
	m.treeGroup = gb.TreeInfo
	return m, nil
}

// nanToNull replaces the bare NaN XGBoost writes (for the unused threshold of a
// categorical split) with null, which encoding/json reads as "leave it zero".
func nanToNull(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) {
		return b
	}
	out := make([]byte, 0, len(b)+64)
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\' && i+1 < len(b):
			out = append(out, c, b[i+1])
			i++
			continue
		case c == '"':
			inString = !inString
		case !inString && bytes.HasPrefix(b[i:], []byte("NaN")):
			out = append(out, "null"...)
			i += 2
			continue
		case !inString && bytes.HasPrefix(b[i:], []byte("-NaN")):
			out = append(out, "null"...)
			i += 3
			continue
		}
		out = append(out, c)
	}
	return out
}

func objectiveNames() []string {
	var names []string
	for n := range objectives {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// parseBaseScore reads base_score: one number ("5E-1"), or one per group ("[a,b,c]") as
// newer XGBoost versions write it.
func parseBaseScore(s string, groups int) ([]float32, error) {
	if s == "" {
		s = "0.5"
	}
	parts := strings.Split(strings.Trim(s, "[]"), ",")
	var out []float32
	for _, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil, fmt.Errorf("xgboost model: bad base_score %q", s)
		}
		out = append(out, float32(v))
	}
	switch {
	case len(out) == groups:
	case len(out) == 1:
		for len(out) < groups {
			out = append(out, out[0])
		}
	default:
		return nil, fmt.Errorf("xgboost model: base_score %q has %d values for %d groups", s, len(out), groups)
	}
	return out, nil
}

func (jt jsonTree) tree(numFeature int) (tree, error) {
	n := len(jt.LeftChildren)
	if n == 0 {
		return tree{}, fmt.Errorf("no nodes")
	}
	if len(jt.RightChildren) != n || len(jt.SplitIndices) != n || len(jt.SplitConditions) != n || len(jt.DefaultLeft) != n {
		return tree{}, fmt.Errorf("node arrays differ in length")
	}
	if s := jt.TreeParam.SizeLeafVector; s != "" && s != "0" && s != "1" {
		return tree{}, fmt.Errorf("vector leaves (size_leaf_vector %s) are not served", s)
	}
	t := tree{left: jt.LeftChildren, right: jt.RightChildren, feature: jt.SplitIndices, cond: jt.SplitConditions, defaultLeft: make([]bool, n)}
	if len(jt.CategoriesNodes) != len(jt.CategoriesSegs) || len(jt.CategoriesNodes) != len(jt.CategoriesSizes) {
		return tree{}, fmt.Errorf("categorical split arrays differ in length")
	}
	for k, node := range jt.CategoriesNodes {
		seg, size := jt.CategoriesSegs[k], jt.CategoriesSizes[k]
		if node < 0 || int(node) >= n || seg < 0 || size < 1 || seg+size > len(jt.Categories) {
			return tree{}, fmt.Errorf("categorical split %d is out of range", k)
		}
		cats := jt.Categories[seg : seg+size]
		hi := slices.Max(cats)
		if slices.Min(cats) < 0 || hi >= 1<<24 {
			return tree{}, fmt.Errorf("node %d: categories out of range", node)
		}
		// the bit set spans the node's largest category, in 32-bit words, as XGBoost's
		bits := make([]uint32, (hi+1+31)/32)
		for _, c := range cats {
			bits[c/32] |= 1 << (c % 32)
		}
		if t.cats == nil {
			t.cats = map[int32][]uint32{}
		}
		t.cats[node] = bits
	}
	for i, st := range jt.SplitType {
		if st != 0 && t.cats[int32(i)] == nil {
			return tree{}, fmt.Errorf("node %d: a categorical split without categories", i)
		}
	}
	for i := range n {
		t.defaultLeft[i] = bool(jt.DefaultLeft[i])
		l, r := t.left[i], t.right[i]
		if l == -1 {
			continue
		}
		// children come after their parent, so walking a tree always ends
		if l <= int32(i) || r <= int32(i) || int(l) >= n || int(r) >= n {
			return tree{}, fmt.Errorf("node %d has bad children %d, %d", i, l, r)
		}
		if f := t.feature[i]; f < 0 || int(f) >= numFeature {
			return tree{}, fmt.Errorf("node %d splits on feature %d of %d", i, f, numFeature)
		}
	}
	return t, nil
}

func (t *tree) leaf(row []float32) float32 {
	i := int32(0)
	for t.left[i] != -1 {
		v := row[t.feature[i]]
		switch {
		case v != v: // NaN: missing, follow the default direction
			if t.defaultLeft[i] {
				i = t.left[i]
			} else {
				i = t.right[i]
			}
		case t.cats != nil && t.cats[i] != nil:
			i = t.catChild(i, v)
		case v < t.cond[i]:
			i = t.left[i]
		default:
			i = t.right[i]
		}
	}
	return t.cond[i]
}

// catChild follows a categorical split: categories in the set go right, others (also
// those beyond the set's largest) left; a value that is no category (negative, 2^24 or
// more) takes the default direction.
func (t *tree) catChild(i int32, v float32) int32 {
	bits := t.cats[i]
	if v < 0 || v >= 1<<24 {
		if t.defaultLeft[i] {
			return t.left[i]
		}
		return t.right[i]
	}
	c := uint32(v)
	if int(c/32) >= len(bits) {
		return t.left[i]
	}
	if bits[c/32]&(1<<(c%32)) != 0 {
		return t.right[i]
	}
	return t.left[i]
}

// NumFeatures is the number of features a row must have.
func (m *Model) NumFeatures() int { return m.numFeature }

// Objective is the model's XGBoost objective name.
func (m *Model) Objective() string { return m.objective }

// OutputWidth is the number of values Predict writes per row: num_class for
// multi:softprob, else 1.
func (m *Model) OutputWidth() int {
	if m.objective == "multi:softprob" {
		return m.groups
	}
	return 1
}

// Margin scores one row (NaN = missing) before the objective's transform, one value per
// group (booster.predict(..., output_margin=True)).
func (m *Model) Margin(row []float32) []float32 {
	margin := make([]float32, m.groups, 8)
	copy(margin, m.baseMargin)
	if m.linear != nil {
		f := m.numFeature
		for g := range margin {
			margin[g] += m.linear[f*m.groups+g] // the bias first, then each feature present
			for k, v := range row {
				if v == v {
					margin[g] += v * m.linear[k*m.groups+g]
				}
			}
		}
		return margin
	}
	for i := range m.trees {
		leaf := m.trees[i].leaf(row)
		if m.treeWeight != nil {
			leaf *= m.treeWeight[i]
		}
		margin[m.treeGroup[i]] += leaf
	}
	return margin
}

// Predict scores one row (NaN = missing) into out (OutputWidth values) and returns it.
func (m *Model) Predict(row []float32, out []float32) []float32 {
	margin := m.Margin(row)
	out = out[:0]
	switch m.objective {
	case "reg:logistic", "binary:logistic":
		return append(out, sigmoid(margin[0]))
	case "count:poisson", "reg:gamma", "reg:tweedie":
		return append(out, float32(math.Exp(float64(margin[0]))))
	case "multi:softprob":
		softmax(margin)
		return append(out, margin...)
	case "multi:softmax":
		best := 0
		for k := range margin {
			if margin[k] > margin[best] {
				best = k
			}
		}
		return append(out, float32(best))
	default: // identity: reg:squarederror, binary:logitraw, rank:*
		return append(out, margin[0])
	}
}

func sigmoid(x float32) float32 { return 1 / (1 + float32(math.Exp(float64(-x)))) }

func softmax(v []float32) {
	hi := v[0]
	for _, x := range v {
		hi = max(hi, x)
	}
	var sum float32
	for i, x := range v {
		v[i] = float32(math.Exp(float64(x - hi)))
		sum += v[i]
	}
	for i := range v {
		v[i] /= sum
	}
}
