//go:build tools

// Build wrapper for everything Temporal that Hookshot runs; used by scripts/temporal-bin.sh.
// One module graph, pinned by the CLI version (scripts/temporal-version.env): the server,
// SQL tool and UI server are built at exactly the versions the CLI itself resolves.
package tools

import (
	_ "github.com/temporalio/cli/cmd/temporal"
	_ "github.com/temporalio/ui-server/v2/cmd/server"
	_ "go.temporal.io/server/cmd/server"
	_ "go.temporal.io/server/cmd/tools/sql"
)
