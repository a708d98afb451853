package profiles

import (
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/errs"
)

var all = []string{Manager, Training, Tuning, Serving, Pipelines, Ingress, Istio, Knative, NVIDIA}

func TestBuiltinsLoadAndValidate(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		enabled []string
	}{
		{"minimal", "", []string{Manager, Training, Tuning, Serving, Pipelines, Ingress}},
		{"standard", "minimal", []string{Manager, Training, Tuning, Serving, Pipelines, Ingress, Istio, Knative}},
		{"gpu", "standard", []string{Manager, Training, Tuning, Serving, Pipelines, Ingress, Istio, Knative, NVIDIA}},
		{"full", "", all},
	}
	var names []string
	for _, tt := range tests {
		names = append(names, tt.name)
		t.Run(tt.name, func(t *testing.T) {
			p := mustLoad(t, tt.name)
			if p.Name != tt.name || p.Base != tt.base {
				t.Errorf("name, base = %q, %q; want %q, %q", p.Name, p.Base, tt.name, tt.base)
			}
			if diff := cmp.Diff(tt.enabled, p.Enabled()); diff != "" {
				t.Errorf("Enabled() (-want +got):\n%s", diff)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	if diff := cmp.Diff(names, Builtins()); diff != "" {
		t.Errorf("Builtins() (-want +got):\n%s", diff)
	}
}

// TestBuiltinFiles keeps the embedded files and Builtins in step.
func TestBuiltinFiles(t *testing.T) {
	files, err := fs.Glob(builtinFS, "builtin/*")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range Builtins() {
		want = append(want, "builtin/"+n+".yaml")
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("embedded files (-want +got):\n%s", diff)
	}
}

// TestFullEnablesEverything keeps full "everything" as components are added.
func TestFullEnablesEverything(t *testing.T) {
	if diff := cmp.Diff(Names(), mustLoad(t, "full").Enabled()); diff != "" {
		t.Errorf("full enables (-all +got):\n%s", diff)
	}
}

// TestMinimalSettings spells out the defaults every built-in starts from.
func TestMinimalSettings(t *testing.T) {
	want := &Profile{
		APIVersion: "kfup.dev/v1alpha1",
		Kind:       "Profile",
		Name:       "minimal",
		Components: Components{
			Manager: ManagerConfig{
				Enabled:     true,
				Replicas:    1,
				LogLevel:    "info",
				LeaderElect: true,
				Resources:   Resources{CPURequest: "50m", CPULimit: "500m", MemoryRequest: "64Mi", MemoryLimit: "256Mi"},
			},
			Training:  TrainingConfig{Enabled: true},
			Tuning:    TuningConfig{Enabled: true},
			Serving:   ServingConfig{Enabled: true},
			Pipelines: PipelinesConfig{Enabled: true, ArtifactStore: "pvc", ArtifactVolumeSize: "10Gi", Launcher: "auto"},
			Ingress:   IngressConfig{Enabled: true},
			Istio:     IstioConfig{IngressGateway: true},
			Knative: KnativeConfig{ScaleToZero: true, Domain: "kfup.localhost", Images: KnativeImagesUpstream,
				Ingress: "kfup", RegistriesSkippingTagResolving: "kind.local,ko.local,dev.local,kfup.local"},
			NVIDIA: NVIDIAConfig{DevicePlugin: true, MIGStrategy: MIGNone},
		},
	}
	if diff := cmp.Diff(want, mustLoad(t, "minimal")); diff != "" {
		t.Errorf("minimal (-want +got):\n%s", diff)
	}
}

const header = "apiVersion: kfup.dev/v1alpha1\nkind: Profile\n"

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name string
		file string
		// want edits the profile the file should give, starting from its base (or the
		// defaults); nil when the file is rejected.
		want     func(p *Profile)
		wantBase string
		wantErrs []string
	}{{
		name: "base and overrides",
		file: header + `name: lab
base: standard
components:
  istio:
    enabled: false
  knative:
    enabled: false
  manager:
    replicas: 2
    logLevel: debug
    resources:
      cpuLimit: 1          # a YAML number is fine for a quantity
      memoryRequest: 0.5Gi
      memoryLimit: 512Mi
`,
		wantBase: "standard",
		want: func(p *Profile) {
			p.Name, p.Base = "lab", "standard"
			p.Components.Istio.Enabled = false
			p.Components.Knative.Enabled = false
			p.Components.Manager.Replicas = 2
			p.Components.Manager.LogLevel = "debug"
			p.Components.Manager.Resources.CPULimit = "1"
			p.Components.Manager.Resources.MemoryRequest = "0.5Gi"
			p.Components.Manager.Resources.MemoryLimit = "512Mi"
		},
	}, {
		name: "no base starts from the defaults",
		file: header + "name: scratch\ncomponents:\n  manager:\n    enabled: true\n",
		want: func(p *Profile) {
			p.Name = "scratch"
			p.Components.Manager.Enabled = true
		},
	}, {
		name:     "nulls keep the base",
		file:     header + "name: lab\nbase: minimal\ncomponents:\n  training:\n  manager:\n    logLevel:\n",
		wantBase: "minimal",
		want:     func(p *Profile) { p.Name, p.Base = "lab", "minimal" },
	}, {
		name:     "yaml 1.1 booleans and flow style",
		file:     header + "name: lab\nbase: minimal\ncomponents: {nvidia: {enabled: yes, timeSlicingReplicas: 4}}\n",
		wantBase: "minimal",
		want: func(p *Profile) {
			p.Name, p.Base = "lab", "minimal"
			p.Components.NVIDIA.Enabled = true
			p.Components.NVIDIA.TimeSlicingReplicas = 4
		},
	}, {
		name: "unknown keys at every depth",
		file: header + `name: typo
base: minimal
labels: {team: ml}
components:
  kserve:
    enabled: true
  knative:
    scaletozero: false
  manager:
    resources:
      memroyLimit: 1Gi
  "nvidia.enabled\n": true
`,
		wantErrs: []string{
			"p.yaml: components.knative.scaletozero: unknown key (known: enabled, ingress, registriesSkippingTagResolving, scaleToZero, domain, images)",
			"p.yaml: components.kserve: unknown component (known: manager, training, tuning, serving, pipelines, ingress, istio, knative, nvidia)",
			"p.yaml: components.manager.resources.memroyLimit: unknown key (known: cpuRequest, cpuLimit, memoryRequest, memoryLimit)",
			`p.yaml: components."nvidia.enabled\n": unknown component (known: manager, training, tuning, serving, pipelines, ingress, istio, knative, nvidia)`,
			"p.yaml: labels: unknown key (known: apiVersion, kind, name, base, components)",
		},
	}, {
		name: "wrong types",
		file: header + `name: types
base: minimal
components:
  manager:
    replicas: two
    leaderElect: "true"
    logLevel: 3
  istio:
    tag: 1.24
  nvidia:
    timeSlicingReplicas: 1.5
  knative: [enabled]
`,
		wantErrs: []string{
			"p.yaml: components.istio.tag: expected a string, got number 1.24 (quote it)",
			"p.yaml: components.knative: expected a mapping (keys: enabled, ingress, registriesSkippingTagResolving, scaleToZero, domain, images), got a list",
			`p.yaml: components.manager.leaderElect: expected a boolean (true or false), got string "true"`,
			"p.yaml: components.manager.logLevel: expected a string, got number 3 (quote it)",
			`p.yaml: components.manager.replicas: expected an integer, got string "two"`,
			"p.yaml: components.nvidia.timeSlicingReplicas: expected an integer, got number 1.5",
		},
	}, {
		name:     "document is not a mapping",
		file:     "- minimal\n- gpu\n",
		wantErrs: []string{"p.yaml: expected a mapping (keys: apiVersion, kind, name, base, components), got a list"},
	}, {
		name:     "invalid YAML",
		file:     header + "name: bad\ncomponents:\n  manager:\n    enabled: true\n   replicas: 2\n",
		wantErrs: []string{"p.yaml:6: invalid YAML: did not find expected key"},
	}, {
		name:     "tab indentation",
		file:     header + "name: bad\ncomponents:\n\tmanager: {}\n",
		wantErrs: []string{"p.yaml:5: invalid YAML: found character that cannot start any token"},
	}, {
		name:     "YAML error without a line",
		file:     header + "name: *x\n",
		wantErrs: []string{"p.yaml: invalid YAML: unknown anchor 'x' referenced"},
	}, {
		name:     "duplicate key",
		file:     header + "name: dup\ncomponents:\n  manager:\n    enabled: true\n    enabled: false\n",
		wantErrs: []string{`p.yaml:7: invalid YAML: key "enabled" already set in map`},
	}, {
		name:     "second document",
		file:     "# two profiles\n---\n" + header + "name: one\n---\n" + header + "name: two\n",
		wantErrs: []string{"p.yaml:6: a second YAML document; a profile file holds one profile"},
	}, {
		name:     "empty file",
		file:     "# nothing yet\n",
		wantErrs: []string{"p.yaml: empty profile"},
	}, {
		name: "required keys",
		file: "components:\n  manager:\n    enabled: true\n",
		wantErrs: []string{
			"p.yaml: apiVersion: required",
			"p.yaml: kind: required",
			"p.yaml: name: required",
		},
	}, {
		name: "wrong apiVersion and kind",
		file: "apiVersion: v1\nkind: Cluster\nname: x\n",
		wantErrs: []string{
			`p.yaml: apiVersion: must be kfup.dev/v1alpha1, got "v1"`,
			`p.yaml: kind: must be Profile, got "Cluster"`,
		},
	}, {
		name:     "unknown base",
		file:     header + "name: x\nbase: huge\n",
		wantErrs: []string{`p.yaml: base: unknown built-in profile "huge" (known: minimal, standard, gpu, full)`},
	}, {
		name:     "base of the wrong type",
		file:     header + "name: x\nbase: [minimal]\n",
		wantErrs: []string{"p.yaml: base: expected a string, got a list"},
	}, {
		name:     "knative without kfup's ingress",
		file:     header + "name: x\nbase: standard\ncomponents:\n  ingress:\n    enabled: false\n",
		wantErrs: []string{"p.yaml: components.knative.enabled: needs components.ingress.enabled"},
	}, {
		name:     "knative on istio without istio",
		file:     header + "name: x\nbase: standard\ncomponents:\n  istio:\n    enabled: false\n  ingress:\n    enabled: false\n  knative:\n    ingress: istio\n",
		wantErrs: []string{"p.yaml: components.knative.enabled: needs components.istio.enabled"},
	}, {
		name: "knative settings",
		file: header + "name: x\nbase: standard\ncomponents:\n  knative:\n    ingress: envoy\n    registriesSkippingTagResolving: kind.local,Bad Registry,localhost:99999\n",
		wantErrs: []string{`p.yaml: components.knative.ingress: "envoy" is not kfup or istio`,
			`p.yaml: components.knative.registriesSkippingTagResolving: "Bad Registry" is not a registry name`,
			`p.yaml: components.knative.registriesSkippingTagResolving: "localhost:99999" is not a registry name`},
	}, {
		name:     "kfup's ingress beside the Istio ingress gateway",
		file:     header + "name: x\nbase: standard\ncomponents:\n  istio:\n    ingressGateway: true\n",
		wantErrs: []string{"p.yaml: components.ingress.enabled: the Istio ingress gateway has the host's ingress ports (node ports 31080/31443): only one of them can serve them"},
	}, {
		name: "invalid values",
		file: header + `name: My Lab
base: standard
components:
  knative:
    domain: Not_A_Domain
  manager:
    resources:
      memoryLimit: 256MB
`,
		wantErrs: []string{
			`p.yaml: name: "My Lab" is not a valid name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`p.yaml: components.manager.resources.memoryLimit: "256MB" is not a Kubernetes quantity`,
			`p.yaml: components.knative.domain: "Not_A_Domain" is not a DNS subdomain: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(writeProfile(t, tt.file))
			if diff := cmp.Diff(tt.wantErrs, errorLines(t, err)); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			for _, fe := range fieldErrors(err) {
				parent, _, ok := splitLast(fe.Path) // an unknown key's parent is known
				if fe.File != "p.yaml" || !pathExists(fe.Path) && !(ok && pathExists(parent)) {
					t.Errorf("FieldError %+v: want File p.yaml and a path under a key of Profile", *fe)
				}
			}
			if tt.want == nil {
				return
			}
			want := defaults()
			if tt.wantBase != "" {
				want = *mustLoad(t, tt.wantBase)
			}
			tt.want(&want)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("profile (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadNames(t *testing.T) {
	tests := []struct {
		arg     string
		wantErr string
	}{
		{"", "no profile given"},
		{"huge", `unknown profile "huge" (built-in: minimal, standard, gpu, full)`},
		{"missing.yaml", "read profile: open missing.yaml: no such file or directory"},
		{"conf/missing", "read profile: open conf/missing: no such file or directory"},
	}
	t.Chdir(t.TempDir())
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			_, err := Load(tt.arg)
			if diff := cmp.Diff([]string{tt.wantErr}, errorLines(t, err)); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadSizeBound: a profile file may hold up to maxFileSize bytes; a larger one, or an
// endless one such as /dev/zero, is refused without being read whole.
func TestLoadSizeBound(t *testing.T) {
	doc := header + "name: big\n"
	pad := func(n int) string { return doc + "#" + strings.Repeat("x", n-len(doc)-2) + "\n" }
	if got := mustLoad(t, writeProfile(t, pad(maxFileSize))).Name; got != "big" {
		t.Errorf("Load(%d-byte file).Name = %q, want big", maxFileSize, got)
	}
	want := []string{"profile p.yaml: larger than 1024 KiB, the most a profile file may hold"}
	_, err := Load(writeProfile(t, pad(maxFileSize+1)))
	if diff := cmp.Diff(want, errorLines(t, err)); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if h := errs.HintOf(err); !strings.Contains(h, "check that the path names a profile file") {
		t.Errorf("hint = %q", h)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err := Load("/dev/zero")
		if got := errorLines(t, err); len(got) != 1 || !strings.Contains(got[0], "larger than 1024 KiB") {
			t.Errorf("Load(/dev/zero): %q, want larger than 1024 KiB", got)
		}
	}
}

// TestBuiltinWinsOverFile: "minimal" is the built-in even beside a file named minimal.
func TestBuiltinWinsOverFile(t *testing.T) {
	writeProfile(t, header+"name: mine\n")
	if got := mustLoad(t, "minimal").Name; got != "minimal" {
		t.Errorf("Load(minimal).Name = %q, want minimal", got)
	}
	if got := mustLoad(t, "./p.yaml").Name; got != "mine" {
		t.Errorf("Load(./p.yaml).Name = %q, want mine", got)
	}
}

func TestHints(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"case of a key", header + "name: x\ncomponents:\n  knative:\n    scaletozero: true\n",
			[]string{"did you mean components.knative.scaleToZero?"}},
		{"misspelt component", header + "name: x\ncomponents:\n  knativ: {}\n",
			[]string{"did you mean components.knative?"}},
		{"nothing close", header + "name: x\nlabels: {}\n", []string{""}},
		{"dotted key", header + "name: x\ncomponents:\n  manager.enabled: true\n",
			[]string{"a key holds no dots: nest the keys, one per line, each indented under the one before"}},
		{"unquoted tag", header + "name: x\ncomponents:\n  istio:\n    tag: 1.24\n",
			[]string{`write tag: "1.24"`}},
		{"invalid YAML", header + "name: [x\n", []string{"check the indentation and the colons around line 3"}},
		{"knative without its ingress", header + "name: x\ncomponents:\n  knative:\n    enabled: true\n",
			[]string{"set components.ingress.enabled=true, or components.knative.enabled=false"}},
		{"missing name", header, []string{"add name: <a DNS label such as my-profile>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeProfile(t, tt.file))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if diff := cmp.Diff(tt.want, hints(err)); diff != "" {
				t.Errorf("hints (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestSecondDocument(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"a: 1\n", 0},
		{"---\na: 1\n", 0},
		{"# c\n--- # first\na: 1\n---\n", 0},
		{"a: 1\n---\nb: 2\n", 2},
		{"a: 1\n--- {b: 2}\n", 2},
		{"a: 1\n---\n# only a comment\n", 0},
		{"a: |\n  ---\n", 0},
		{"a: 1\n----\n", 0}, // not a marker; the YAML parser judges it
	}
	for _, tt := range tests {
		if got := secondDocument([]byte(tt.in)); got != tt.want {
			t.Errorf("secondDocument(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestTypesStayDecodable keeps Profile to the kinds decode, Set and YAML handle, and every
// component to an Enabled bool.
func TestTypesStayDecodable(t *testing.T) {
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		for _, f := range fieldsOf(typ) {
			ft := typ.Field(f.index).Type
			switch ft.Kind() {
			case reflect.Struct:
				walk(join(path, f.name), ft)
			case reflect.Bool, reflect.Int, reflect.String:
			default:
				t.Errorf("%s: %s is not decodable", join(path, f.name), ft.Kind())
			}
			if f.quantity && ft.Kind() != reflect.String {
				t.Errorf("%s: quantity tag on a %s", join(path, f.name), ft.Kind())
			}
		}
	}
	walk("", reflect.TypeFor[Profile]())
	ct := reflect.TypeFor[Components]()
	for _, f := range fieldsOf(ct) {
		first := fieldsOf(ct.Field(f.index).Type)[0]
		if first.name != "enabled" || ct.Field(f.index).Type.Field(first.index).Type.Kind() != reflect.Bool {
			t.Errorf("components.%s: first key is %s, want enabled (a bool)", f.name, first.name)
		}
	}
	if !strings.Contains(keyNames(ct), "nvidia") {
		t.Errorf("keyNames(Components) = %q", keyNames(ct))
	}
}
