package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/vpcflow/vpcflow/collector/config"
)

// runDownloader runs the downloader role: it copies new objects of the s3
// sources into the spool folder for a collector-role process.
func runDownloader(ctx context.Context, log *slog.Logger, cfg *config.Config, fl runFlags) error {
	return errors.New("--role downloader: not built yet")
}
