package serving

import (
	"testing"

	"github.com/kfup/kfup/components/serving/engine"
)

// The smoke test's copies of the engine's names agree with it.
func TestSmokeNamesAreTheEngines(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{kfupRuntime, engine.KfupRuntime},
		{modelMountPath, engine.ModelMountPath},
		{labelInferenceService, engine.LabelInferenceService},
		{labelComponent, engine.LabelComponent},
	} {
		if c.got != c.want {
			t.Errorf("smoke.go has %q, the engine %q", c.got, c.want)
		}
	}
}
