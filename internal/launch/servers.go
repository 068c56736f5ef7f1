package launch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// StartVictoriaMetrics starts the VictoriaMetrics single node bin on a
// free loopback port, with its data in dir/data and its log in
// dir/victoria-metrics.log (dir is created when missing), and waits until
// /health answers OK. flags
// ("-name=value") come after -httpListenAddr and -storageDataPath, so a
// -storageDataPath among them wins.
func StartVictoriaMetrics(ctx context.Context, bin, dir string, flags []string) (*Process, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start VictoriaMetrics: %w", err)
	}
	return StartOnFreePorts(ctx, 1, func(ports []int) *Process {
		addr := Loopback(ports[0])
		return New(Spec{
			Name:       "VictoriaMetrics",
			Bin:        bin,
			Args:       append([]string{"-httpListenAddr=" + addr, "-storageDataPath=" + filepath.Join(dir, "data")}, flags...),
			Addr:       addr,
			HealthPath: "/health",
			HealthBody: "OK", // every VictoriaMetrics program's, once it serves
			LogPath:    filepath.Join(dir, "victoria-metrics.log"),
		})
	})
}

// VersitygwOptions configures StartVersitygw.
type VersitygwOptions struct {
	// Access and Secret are the root user's credentials, given to
	// versitygw in its environment rather than on its command line.
	Access, Secret string
	// Region is the region requests must be signed for; default
	// us-east-1.
	Region string
	// Versioning gives the posix backend a versioning folder
	// (`--versioning-dir`): without one, buckets cannot be versioned.
	Versioning bool
	// IAM runs the internal IAM service (`--iam-dir`), so that users
	// besides the root one can be created.
	IAM bool
}

// versitygwHealthPath is the path versitygw answers 200 on, without
// authentication, once it serves requests (its --health flag).
const versitygwHealthPath = "/vpcflow-health"

// VersitygwRoot returns the posix backend's root of a versitygw started
// by StartVersitygw with dir: a folder per bucket, a file per object.
func VersitygwRoot(dir string) string { return filepath.Join(dir, "data") }

// StartVersitygw starts the S3 gateway bin with the posix backend on a
// free loopback port (`versitygw --port 127.0.0.1:PORT ... posix ROOT`),
// its buckets under VersitygwRoot(dir), its IAM and versioning folders
// (when asked for) and its log (versitygw.log) in dir, and waits until it
// answers.
func StartVersitygw(ctx context.Context, bin, dir string, o VersitygwOptions) (*Process, error) {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	args := []string{"--health", versitygwHealthPath, "--region", o.Region, "--quiet"}
	mkdir := func(p string) (string, error) {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", fmt.Errorf("start versitygw: %w", err)
		}
		return p, nil
	}
	if o.IAM {
		iam, err := mkdir(filepath.Join(dir, "iam"))
		if err != nil {
			return nil, err
		}
		args = append(args, "--iam-dir", iam)
	}
	args = append(args, "posix")
	if o.Versioning {
		versions, err := mkdir(filepath.Join(dir, "versions"))
		if err != nil {
			return nil, err
		}
		args = append(args, "--versioning-dir", versions)
	}
	root, err := mkdir(VersitygwRoot(dir))
	if err != nil {
		return nil, err
	}
	args = append(args, root)
	return StartOnFreePorts(ctx, 1, func(ports []int) *Process {
		addr := Loopback(ports[0])
		return New(Spec{
			Name:       "versitygw",
			Bin:        bin,
			Args:       append([]string{"--port", addr}, args...),
			Env:        []string{"ROOT_ACCESS_KEY_ID=" + o.Access, "ROOT_SECRET_ACCESS_KEY=" + o.Secret},
			Addr:       addr,
			HealthPath: versitygwHealthPath,
			LogPath:    filepath.Join(dir, "versitygw.log"),
		})
	})
}
