package tools

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// VMClusterVersion is the VictoriaMetrics cluster release the tests run.
// The Go module proxy does not serve the `-cluster` versions, so
// `go install` cannot build them: built binaries are handed over as
// gzip files in a folder (see VMClusterDir) and unpacked into the cache
// by EnsureVMCluster.
const VMClusterVersion = "v1.150.0-cluster"

// VMClusterDirEnv names the environment variable giving the folder that
// holds vminsert.gz, vmselect.gz and vmstorage.gz; by default
// ../shared/vm-cluster beside the repository root.
const VMClusterDirEnv = "VPCFLOW_VM_CLUSTER_DIR"

// VMClusterBinaries are the cluster's programs, in the order they start.
var VMClusterBinaries = []string{"vmstorage", "vminsert", "vmselect"}

// vmClusterSHA256 pins the sha256 of each unpacked binary of
// VMClusterVersion (from the folder's README).
var vmClusterSHA256 = map[string]string{
	"vminsert":  "d665b9c0e9a4083f1d33b0c49258499a1e23b4b9cff8df6966800847741ed389",
	"vmselect":  "3405b9eaaad83040eb524be6b62987743e9843129ac10c8845f6635f8ba9d079",
	"vmstorage": "6d0b54dcfa689a7c8e5ec1678fa14420b118c35ade6ff9c919e348d145a71f89",
}

// ErrVMClusterMissing is EnsureVMCluster's error when the binaries are
// neither in the cache nor in the folder they are unpacked from.
var ErrVMClusterMissing = errors.New("VictoriaMetrics cluster binaries not found")

// VMClusterDir returns the folder the cluster binaries are unpacked from:
// $VPCFLOW_VM_CLUSTER_DIR, or ../shared/vm-cluster beside the repository
// root.
func VMClusterDir(ctx context.Context) (string, error) {
	if dir := os.Getenv(VMClusterDirEnv); dir != "" {
		return dir, nil
	}
	root, err := RepoRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("find the VictoriaMetrics cluster binaries (set %s): %w", VMClusterDirEnv, err)
	}
	return filepath.Join(filepath.Dir(root), "shared", "vm-cluster"), nil
}

// EnsureVMCluster returns the cache folder holding vmstorage, vminsert and
// vmselect of VMClusterVersion (CacheDir("tools", "vm-cluster@VERSION")),
// unpacking the missing ones from src/NAME.gz first. Each is checked
// against its pinned sha256 before it is renamed into place, so the cache
// never holds a partial or unexpected binary. When a binary is missing
// from both the cache and src, the error wraps ErrVMClusterMissing.
func EnsureVMCluster(src string) (string, error) {
	dir, err := CacheDir("tools", "vm-cluster@"+VMClusterVersion)
	if err != nil {
		return "", err
	}
	for _, name := range VMClusterBinaries {
		bin := filepath.Join(dir, name)
		if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
			continue
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("check %s: %w", bin, err)
		}
		if err := unpackVerified(filepath.Join(src, name+".gz"), bin, vmClusterSHA256[name]); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// unpackVerified gunzips archive into bin (mode 0755) through a temporary
// file beside it, if the result's sha256 is wantSHA.
func unpackVerified(archive, bin, wantSHA string) error {
	in, err := os.Open(archive)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no %s", ErrVMClusterMissing, archive)
	}
	if err != nil {
		return fmt.Errorf("unpack %s: %w", archive, err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", archive, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(bin), "."+filepath.Base(bin)+"-")
	if err != nil {
		return fmt.Errorf("unpack %s: %w", archive, err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), zr)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("unpack %s: %w", archive, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wantSHA {
		return fmt.Errorf("unpack %s: sha256 %s, want %s (%s %s): not the pinned build", archive, got, wantSHA, filepath.Base(bin), VMClusterVersion)
	}
	if err := os.Chmod(tmp.Name(), 0o755); err != nil {
		return fmt.Errorf("unpack %s: %w", archive, err)
	}
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return fmt.Errorf("unpack %s: %w", archive, err)
	}
	return nil
}
