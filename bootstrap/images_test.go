package bootstrap

import "testing"

func TestParseCRISnapshotter(t *testing.T) {
	for _, tt := range []struct{ name, config, want string }{
		{"containerd 2 (version 3)", "version = 3\n[plugins]\n  [plugins.'io.containerd.cri.v1.images']\n    snapshotter = 'overlayfs'\n    [plugins.'io.containerd.cri.v1.images'.pinned_images]\n      sandbox = 'registry.k8s.io/pause:3.10'\n  [plugins.'io.containerd.snapshotter.v1.native']\n    snapshotter = 'nope'\n", "overlayfs"},
		{"containerd 1 (version 2)", "version = 2\n[plugins]\n  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n    default_runtime_name = \"runc\"\n    snapshotter = \"fuse-overlayfs\"\n", "fuse-overlayfs"},
	} {
		got, err := parseCRISnapshotter(tt.config)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := parseCRISnapshotter("version = 3\n"); err == nil {
		t.Error("no CRI section: want an error")
	}
}
