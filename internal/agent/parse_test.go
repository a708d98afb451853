package agent

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseKubectlExec(t *testing.T) {
	cases := []struct {
		args    string
		want    ExecArgs
		wantErr bool
	}{
		{args: "exec job-worker-0 -- /bin/sh -c orted -mca x", want: ExecArgs{Pod: "job-worker-0", Command: []string{"/bin/sh", "-c", "orted", "-mca", "x"}}},
		{args: "exec job-worker-1 --container mpi -- /bin/sh -c true", want: ExecArgs{Pod: "job-worker-1", Container: "mpi", Command: []string{"/bin/sh", "-c", "true"}}},
		{args: "exec -i -c main p -- ls", want: ExecArgs{Pod: "p", Container: "main", Command: []string{"ls"}}},
		{args: "exec --container=main p -- ls", want: ExecArgs{Pod: "p", Container: "main", Command: []string{"ls"}}},
		{args: "get pods", wantErr: true},
		{args: "exec p --", wantErr: true},
		{args: "exec -- ls", wantErr: true},
		{args: "exec p --namespace x -- ls", wantErr: true},
		{args: "exec a b -- ls", wantErr: true},
	}
	for _, c := range cases {
		got, err := ParseKubectlExec(strings.Fields(c.args))
		if c.wantErr {
			if err == nil {
				t.Errorf("%q: want an error, got %+v", c.args, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%q (-want +got):\n%s", c.args, d)
		}
	}
}

func TestHostfileHosts(t *testing.T) {
	got, err := HostfileHosts(strings.NewReader("job-launcher slots=1\n\njob-worker-0 slots=2\n# comment\njob-worker-1 slots=2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"job-launcher", "job-worker-0", "job-worker-1"}, got); d != "" {
		t.Fatal(d)
	}
}
