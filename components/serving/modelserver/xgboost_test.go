package modelserver

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureCases is what hack/serving-fixtures/make_fixtures.py wrote beside each model:
// rows (null = missing) and what booster.predict returned for them.
type fixtureCases struct {
	Objective string       `json:"objective"`
	Inputs    [][]*float64 `json:"inputs"`
	Outputs   [][]float64  `json:"outputs"`
}

func loadCases(t *testing.T, path string) fixtureCases {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c fixtureCases
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func row32(in []*float64) []float32 {
	row := make([]float32, len(in))
	for i, v := range in {
		if v == nil {
			row[i] = float32(math.NaN())
		} else {
			row[i] = float32(*v)
		}
	}
	return row
}

// Every fixture model, JSON and UBJ, predicts what XGBoost's Python package predicted,
// to 1e-6.
func TestPredictionsMatchXGBoost(t *testing.T) {
	cases, _ := filepath.Glob("testdata/*.cases.json")
	if len(cases) == 0 {
		t.Fatal("no fixtures in testdata: run make serving-fixtures")
	}
	seen := map[string]bool{}
	for _, cf := range cases {
		base := strings.TrimSuffix(cf, ".cases.json")
		c := loadCases(t, cf)
		seen[c.Objective] = true
		for _, ext := range []string{".json", ".ubj"} {
			if _, err := os.Stat(base + ext); err != nil {
				continue
			}
			t.Run(filepath.Base(base)+ext, func(t *testing.T) {
				m, err := LoadXGBoost(base + ext)
				if err != nil {
					t.Fatal(err)
				}
				if m.Objective() != c.Objective {
					t.Fatalf("objective %q, want %q", m.Objective(), c.Objective)
				}
				missing := 0
				for i, in := range c.Inputs {
					for _, v := range in {
						if v == nil {
							missing++
						}
					}
					got := m.Predict(row32(in), nil)
					want := c.Outputs[i]
					if len(got) != len(want) {
						t.Fatalf("row %d: %d outputs, want %d", i, len(got), len(want))
					}
					for k := range want {
						if d := math.Abs(float64(got[k]) - want[k]); d > 1e-6 {
							t.Errorf("row %d output %d: %v, xgboost %v (|Δ| %g)", i, k, got[k], want[k], d)
						}
					}
				}
				if missing == 0 {
					t.Error("fixture has no missing values")
				}
			})
		}
	}
	for _, obj := range []string{"reg:squarederror", "reg:logistic", "binary:logistic", "binary:logitraw", "multi:softprob", "multi:softmax", "count:poisson"} {
		if !seen[obj] {
			t.Errorf("no fixture for objective %s", obj)
		}
	}
}

func TestBadModels(t *testing.T) {
	good, err := os.ReadFile("testdata/iris-softprob.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"objective", `"multi:softprob"`, `"rank:pairwise"`, `objective "rank:pairwise" is not served`},
		{"booster", `"name":"gbtree"`, `"name":"gblinear"`, `booster "gblinear" is not served`},
		{"feature", `"split_indices":[2`, `"split_indices":[9`, "splits on feature 9 of 4"},
		{"categorical", `"split_type":[0`, `"split_type":[1`, "categorical splits are not served"},
		{"base_score", `"base_score":"5E-1"`, `"base_score":"x"`, `bad base_score "x"`},
		{"truncated", `}`, ``, "parse xgboost model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := strings.Replace(string(good), tc.from, tc.to, 1)
			if s == string(good) {
				t.Fatalf("fixture has no %s", tc.from)
			}
			if tc.to == "" {
				s = s[:len(s)/2]
			}
			_, err := ParseXGBoostJSON([]byte(s))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	dir := t.TempDir()
	bst := filepath.Join(dir, "model.bst")
	os.WriteFile(bst, []byte("binf"), 0o600)
	if _, err := LoadXGBoost(bst); err == nil || !strings.Contains(err.Error(), "save_model") {
		t.Fatalf("error %v, want a hint to re-save", err)
	}
	ubj := filepath.Join(dir, "model.ubj")
	os.WriteFile(ubj, []byte("{L"), 0o600)
	if _, err := LoadXGBoost(ubj); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("error %v, want truncated", err)
	}
}
