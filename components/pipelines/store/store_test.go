package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// env is a getenv over key, value pairs.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// wantErr fails t unless err's message holds want ("" wants no error).
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("err = %v, want none", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("err = %v, want one holding %q", err, want)
	}
}

func TestValidKey(t *testing.T) {
	tests := []struct {
		key  string
		want string // "" when valid
	}{
		{key: "ns1/run-a-1b2c3d4e/train/model/weights.bin"},
		{key: "a"},
		{key: "a/.hidden/b..c/..."},
		{key: "with space/ünïcödé/%2F/?#&"},
		{key: strings.Repeat("a", MaxKeyBytes)},
		{key: "", want: "empty"},
		{key: strings.Repeat("a", MaxKeyBytes+1), want: "1025 bytes, more than 1024"},
		{key: "/a", want: `starts with "/"`},
		{key: "a/", want: `ends with "/"`},
		{key: "a//b", want: `empty segment ("//")`},
		{key: "a/./b", want: `"." segment`},
		{key: ".", want: `"." segment`},
		{key: "a/../b", want: `".." segment`},
		{key: "..", want: `".." segment`},
		{key: "a\x00b", want: "control character U+0000"},
		{key: "a\nb", want: "control character U+000A"},
		{key: "a\x7fb", want: "control character U+007F"},
		{key: "a\u0085b", want: "control character U+0085"},
		{key: "a\xffb", want: "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			err := ValidKey(tt.key)
			wantErr(t, err, tt.want)
			if err != nil && len(tt.key) < 100 && !strings.Contains(err.Error(), strconv.Quote(tt.key)) {
				t.Errorf("err = %v does not name the key", err)
			}
		})
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct {
		uri, want string
		ok        bool
	}{
		{uri: "minio://kfup/ns1/run/train/model", want: "/minio/kfup/ns1/run/train/model", ok: true},
		{uri: "s3://bucket/pfx/ns1/model", want: "/s3/bucket/pfx/ns1/model", ok: true},
		{uri: "gs://bucket/a/b", want: "/gcs/bucket/a/b", ok: true},
		{uri: "gs://bucket", want: "/gcs/bucket", ok: true},
		{uri: "http://host/a"},
		{uri: "file:///tmp/a"},
		{uri: "/minio/kfup/a"},
		{uri: "minio://"},
		{uri: "s3://../../etc/passwd"},
		{uri: "s3:///etc/passwd"},
		{uri: "gs://b/\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			got, ok := LocalPath(tt.uri)
			if got != tt.want || ok != tt.ok {
				t.Errorf("LocalPath(%q) = %q, %v; want %q, %v", tt.uri, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestURIAndKey(t *testing.T) {
	s3s, err := NewS3(context.Background(), S3Config{Bucket: "art", Prefix: "/kfup/pipelines/"})
	if err != nil {
		t.Fatal(err)
	}
	top, err := NewS3(context.Background(), S3Config{Bucket: "art"})
	if err != nil {
		t.Fatal(err)
	}
	stores := []struct {
		name string
		s    Store
		uri  string
	}{
		{"fs", NewFS(t.TempDir()), "minio://kfup/ns1/run/a.txt"},
		{"http", NewHTTP("http://artifacts:8890/", nil), "minio://kfup/ns1/run/a.txt"},
		{"s3 with prefix", s3s, "s3://art/kfup/pipelines/ns1/run/a.txt"},
		{"s3", top, "s3://art/ns1/run/a.txt"},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			if got := st.s.URI("ns1/run/a.txt"); got != st.uri {
				t.Errorf("URI = %q, want %q", got, st.uri)
			}
			if k, ok := st.s.Key(st.uri); !ok || k != "ns1/run/a.txt" {
				t.Errorf("Key(%q) = %q, %v", st.uri, k, ok)
			}
			for _, bad := range []string{"gs://art/ns1/a", "minio://other/ns1/a", "s3://other/ns1/a", st.uri + "/", strings.TrimSuffix(st.uri, "ns1/run/a.txt") + "ns1/../x"} {
				if k, ok := st.s.Key(bad); ok {
					t.Errorf("Key(%q) = %q, true; want false", bad, k)
				}
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		wantURI string // of the key "ns/a"
		err     string
	}{
		{name: "artifact server", env: []string{"KFUP_ARTIFACT_STORE", "http://kfup-artifacts.kfup-system.svc:8890"}, wantURI: "minio://kfup/ns/a"},
		{name: "https artifact server", env: []string{"KFUP_ARTIFACT_STORE", "https://10.0.0.1:8890/"}, wantURI: "minio://kfup/ns/a"},
		{name: "s3", env: []string{"KFUP_ARTIFACT_STORE", "s3", "KFUP_ARTIFACT_S3_BUCKET", "art", "KFUP_ARTIFACT_S3_PREFIX", "p"}, wantURI: "s3://art/p/ns/a"},
		{name: "s3 without a bucket", env: []string{"KFUP_ARTIFACT_STORE", "s3"}, err: "KFUP_ARTIFACT_STORE=s3: KFUP_ARTIFACT_S3_BUCKET is not set"},
		{name: "unset", err: `KFUP_ARTIFACT_STORE is not set: want "s3" or the URL of kfup's artifact server (http://host:port)`},
		{name: "fs path", env: []string{"KFUP_ARTIFACT_STORE", "/data"}, err: `KFUP_ARTIFACT_STORE="/data" is not accepted: want "s3" or`},
		{name: "minio", env: []string{"KFUP_ARTIFACT_STORE", "minio"}, err: `KFUP_ARTIFACT_STORE="minio" is not accepted`},
		{name: "no host", env: []string{"KFUP_ARTIFACT_STORE", "http://"}, err: `KFUP_ARTIFACT_STORE="http://" is not a server URL`},
		{name: "query", env: []string{"KFUP_ARTIFACT_STORE", "http://h:1/?x=1"}, err: "is not a server URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := FromEnv(context.Background(), env(tt.env...))
			wantErr(t, err, tt.err)
			if err != nil {
				return
			}
			if got := s.URI("ns/a"); got != tt.wantURI {
				t.Errorf("URI = %q, want %q", got, tt.wantURI)
			}
		})
	}
}

func TestS3ConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want S3Config
		err  string
	}{
		{name: "aws", env: []string{"KFUP_ARTIFACT_S3_BUCKET", "art", "AWS_REGION", "eu-west-1", "AWS_ACCESS_KEY_ID", "AKIA1", "AWS_SECRET_ACCESS_KEY", "s"},
			want: S3Config{Bucket: "art", Region: "eu-west-1", AccessKeyID: "AKIA1", SecretAccessKey: "s"}},
		{name: "minio over http", env: []string{"KFUP_ARTIFACT_S3_BUCKET", "art", "KFUP_ARTIFACT_S3_PREFIX", "kfup", "S3_ENDPOINT", "minio.minio:9000", "S3_USE_HTTPS", "0"},
			want: S3Config{Bucket: "art", Prefix: "kfup", Endpoint: "minio.minio:9000", Region: "us-east-1", UsePathStyle: true, Insecure: true}},
		{name: "AWS_ENDPOINT_URL wins", env: []string{"KFUP_ARTIFACT_S3_BUCKET", "art", "AWS_ENDPOINT_URL", "https://s3.example", "S3_ENDPOINT", "other:9000", "S3_USE_HTTPS", "1"},
			want: S3Config{Bucket: "art", Endpoint: "https://s3.example", Region: "us-east-1", UsePathStyle: true}},
		{name: "S3_USE_HTTPS=false", env: []string{"KFUP_ARTIFACT_S3_BUCKET", "art", "S3_USE_HTTPS", "false"},
			want: S3Config{Bucket: "art", Region: "us-east-1", Insecure: true}},
		{name: "no bucket", env: []string{"AWS_REGION", "x"}, err: "KFUP_ARTIFACT_S3_BUCKET is not set"},
		{name: "key without secret", env: []string{"KFUP_ARTIFACT_S3_BUCKET", "art", "AWS_ACCESS_KEY_ID", "AKIA1"}, err: "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := S3ConfigFromEnv(env(tt.env...))
			wantErr(t, err, tt.err)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("S3ConfigFromEnv (-want +got):\n%s", d)
			}
		})
	}
}

func TestNewS3Errors(t *testing.T) {
	tests := []struct {
		name string
		cfg  S3Config
		err  string
	}{
		{name: "no bucket", err: `s3 store: bucket "" is not a bucket name`},
		{name: "slash in bucket", cfg: S3Config{Bucket: "a/b"}, err: `bucket "a/b" is not a bucket name`},
		{name: "bad prefix", cfg: S3Config{Bucket: "a", Prefix: "x/../y"}, err: `s3 store: prefix: invalid artifact key "x/../y"`},
		{name: "bad endpoint", cfg: S3Config{Bucket: "a", Endpoint: "ftp://h"}, err: `endpoint "ftp://h" is not an http(s) URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewS3(context.Background(), tt.cfg)
			wantErr(t, err, tt.err)
		})
	}
}

// TestKeysChecked runs every method of every store with a bad key: each refuses it
// before doing anything, naming it.
func TestKeysChecked(t *testing.T) {
	s3s, _ := NewS3(context.Background(), S3Config{Bucket: "b", Endpoint: "http://127.0.0.1:1"})
	ctx := context.Background()
	for name, s := range map[string]Store{"fs": NewFS(t.TempDir()), "http": NewHTTP("http://127.0.0.1:1", nil), "s3": s3s} {
		calls := map[string]func(string) error{
			"put":    func(k string) error { return s.Put(ctx, k, strings.NewReader("x"), 1) },
			"get":    func(k string) error { _, err := s.Get(ctx, k); return err },
			"list":   func(k string) error { _, err := s.List(ctx, k); return err },
			"delete": func(k string) error { return s.Delete(ctx, k) },
		}
		for op, call := range calls {
			err := call("a/../b")
			want := op + `: invalid artifact key "a/../b": ".." segment`
			if err == nil || err.Error() != want {
				t.Errorf("%s %s: err = %v, want %q", name, op, err, want)
			}
			if errors.Is(err, ErrNotFound) {
				t.Errorf("%s %s: a bad key is not ErrNotFound", name, op)
			}
		}
	}
}
