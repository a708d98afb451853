package modelserver

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureCase is one entry of testdata/xgboost/cases.json, which
// hack/serving-fixtures/make_fixtures.py wrote beside each model: rows (null = missing)
// and what booster.predict returned for them, flattened row-major.
type fixtureCase struct {
	Name      string       `json:"name"`
	Objective string       `json:"objective"`
	Booster   string       `json:"booster"`
	Rows      [][]*float64 `json:"rows"`
	Predict   []float64    `json:"predict"`
	Margin    []float64    `json:"margin"`
}

func loadCases(t *testing.T) map[string]fixtureCase {
	t.Helper()
	b, err := os.ReadFile("testdata/xgboost/cases.json")
	if err != nil {
		t.Fatalf("%v (run make serving-fixtures)", err)
	}
	var f struct{ Cases []fixtureCase }
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	cases := map[string]fixtureCase{}
	for _, c := range f.Cases {
		cases[c.Name] = c
	}
	return cases
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

// Every fixture model, JSON and UBJ, predicts (and scores margins) as XGBoost's Python
// package did, to 1e-6.
func TestPredictionsMatchXGBoost(t *testing.T) {
	cases := loadCases(t)
	seen := map[string]bool{}
	for _, c := range cases {
		seen[c.Objective] = true
		for _, ext := range []string{".json", ".ubj"} {
			t.Run(c.Name+ext, func(t *testing.T) {
				m, err := LoadXGBoost("testdata/xgboost/" + c.Name + ext)
				if err != nil {
					t.Fatal(err)
				}
				if m.Objective() != c.Objective {
					t.Fatalf("objective %q, want %q", m.Objective(), c.Objective)
				}
				w, groups := m.OutputWidth(), len(c.Margin)/len(c.Rows)
				missing := 0
				for i, in := range c.Rows {
					for _, v := range in {
						if v == nil {
							missing++
						}
					}
					row := row32(in)
					check := func(what string, got []float32, want []float64) {
						if len(got) != len(want) {
							t.Fatalf("row %d: %d %s values, want %d", i, len(got), what, len(want))
						}
						for k := range want {
							if d := math.Abs(float64(got[k]) - want[k]); d > 1e-6 {
								t.Errorf("row %d %s %d: %v, xgboost %v (|Δ| %g)", i, what, k, got[k], want[k], d)
							}
						}
					}
					check("output", m.Predict(row, nil), c.Predict[i*w:(i+1)*w])
					check("margin", m.Margin(row), c.Margin[i*groups:(i+1)*groups])
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
	good, err := os.ReadFile("testdata/xgboost/multi_softprob.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to, want string }{
		{"objective", `"multi:softprob"`, `"survival:cox"`, `objective "survival:cox" is not served`},
		{"booster", `"name":"gbtree"`, `"name":"gbforest"`, `booster "gbforest" is not served`},
		{"feature", `"split_indices":[2`, `"split_indices":[9`, "splits on feature 9 of 4"},
		{"categorical", `"split_type":[0`, `"split_type":[1`, "a categorical split without categories"},
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
