//go:build !(cgo && nvmlmock)

package incluster

import (
	"context"
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/testio"
)

// The mock switch exists only in test builds: a shipped binary does not know the flag.
func TestAgentDevicePluginHasNoMockSwitch(t *testing.T) {
	var out, errOut testio.Buffer
	code := Main(context.Background(), []string{"agent", "device-plugin", "--mock-nvml=dgxa100"}, &out, &errOut, nil)
	if code != 2 || !strings.Contains(errOut.String(), "unknown flag: --mock-nvml") {
		t.Errorf("exit %d, stderr %q; want 2, unknown flag", code, errOut.String())
	}
}
