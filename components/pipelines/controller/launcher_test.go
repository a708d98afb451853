package controller

import (
	"testing"

	"github.com/spf13/pflag"
)

func TestSupportsImageVolume(t *testing.T) {
	for _, tc := range []struct {
		major, minor string
		want         bool
	}{
		{"1", "37", true}, {"1", "35+", true}, {"1", "34", false}, {"1", "31+", false}, {"2", "0", false}, {"1", "x", false},
	} {
		if got := supportsImageVolume(tc.major, tc.minor); got != tc.want {
			t.Errorf("%s.%s: %v, want %v", tc.major, tc.minor, got, tc.want)
		}
	}
	for mode, want := range map[string]bool{LauncherImageVolume: true, LauncherInitContainer: false} {
		// an explicit mode asks no API server
		if got, err := useImageVolume(mode, nil); err != nil || got != want {
			t.Errorf("%s: %v %v", mode, got, err)
		}
	}
}

func TestLauncherFlag(t *testing.T) {
	for arg, ok := range map[string]bool{"auto": true, "image-volume": true, "init-container": true, "sidecar": false} {
		a := NewAPI()
		fs := pflag.NewFlagSet("manager", pflag.ContinueOnError)
		a.AddFlags(fs)
		if err := fs.Parse([]string{"--pipelines-launcher=" + arg}); err != nil {
			t.Fatal(err)
		}
		if err := a.Validate(); (err == nil) != ok {
			t.Errorf("--pipelines-launcher=%s: %v", arg, err)
		}
	}
}
