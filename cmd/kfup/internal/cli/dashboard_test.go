package cli

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/errs"
)

func TestDashboardOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want DashboardOptions
		kind errs.Kind
	}{
		{name: "defaults", want: DashboardOptions{Name: "kfup", Namespace: "default"}},
		{name: "all flags", args: []string{"--name", "ml-dev", "--port", "8765", "--no-browser", "-n", "team-a"},
			want: DashboardOptions{Name: "ml-dev", Port: 8765, NoBrowser: true, Namespace: "team-a"}},
		{name: "port out of range", args: []string{"--port", "70000"}, kind: errs.KindUsage},
		{name: "bad namespace", args: []string{"-n", "Team_A"}, kind: errs.KindUsage},
		{name: "bad cluster name", args: []string{"--name", "Bad Name"}, kind: errs.KindUsage},
		{name: "no arguments", args: []string{"extra"}, kind: errs.KindUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _, _ := testFactory(t)
			var got *DashboardOptions
			cmd := NewCmdDashboard(f, func(_ context.Context, o *DashboardOptions) error { got = o; return nil })
			err := execute(f, cmd, append([]string{"dashboard"}, tc.args...)...)
			if tc.kind != errs.KindUnknown {
				if errs.KindOf(err) != tc.kind {
					t.Fatalf("error %v (kind %v), want kind %v", err, errs.KindOf(err), tc.kind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, *got); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
		})
	}
}
