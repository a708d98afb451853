package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// The load generator runs both sides and prints both figures and the ratio.
func TestRunPrintsBothSides(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "../../components/serving/modelserver/testdata/xgboost/multi_softprob.json", 2, 200*time.Millisecond, 50*time.Millisecond); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"bare net/http", "kfup modelserver", "throughput:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
