#!/usr/bin/env bash
# Rebuilds the design-system assets the portal and the gateway's pages share, from pinned npm
# packages, into ../src/shared_kit/design/static (the result is committed; running a service
# needs no Node).
#   GOV.UK Frontend: the CSS (re-branded through portal.scss), the JS, the images it needs.
# Needs node and npm; downloads only from the npm registry, into a temporary folder.
set -euo pipefail
GOVUK_FRONTEND_VERSION=6.3.0 # what govuk-frontend-jinja 4.1.0 (the kit's `design` extra) targets
SASS_VERSION=1.108.2

here="$(cd "$(dirname "$0")" && pwd)"
static="$here/../src/shared_kit/design/static"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts \
  "govuk-frontend@$GOVUK_FRONTEND_VERSION" "sass@$SASS_VERSION" >/dev/null
dist="$work/node_modules/govuk-frontend/dist/govuk"

rm -rf "$static/govuk"
mkdir -p "$static/govuk/assets"
# Compiled beside node_modules, where `pkg:govuk-frontend` resolves.
cp "$here/portal.scss" "$work/portal.scss"
npx sass --no-source-map --style=compressed --pkg-importer=node --quiet-deps \
  "$work/portal.scss" "$static/portal.min.css"
# The console's dashboards' few classes of their own (charts, wide tables), loaded by those pages.
cp "$here/console.scss" "$work/console.scss"
npx sass --no-source-map --style=compressed --pkg-importer=node --quiet-deps \
  "$work/console.scss" "$static/console.min.css"
cp "$dist/govuk-frontend.min.js" "$static/govuk/govuk-frontend.min.js"
# Images the CSS refers to; not the fonts (system fonts), not GOV.UK's crown and crest (the
# footer that shows them is GOV.UK's own; ours has neither).
mkdir -p "$static/govuk/assets/images"
grep -o 'images/[a-zA-Z0-9._-]*' "$static/portal.min.css" | sort -u | { grep -v '/govuk-' || true; } \
  | while read -r image; do cp "$dist/assets/$image" "$static/govuk/assets/$image"; done
cp "$work/node_modules/govuk-frontend/package.json" "$static/govuk/package.json"
echo "built GOV.UK Frontend $GOVUK_FRONTEND_VERSION with sass $SASS_VERSION into $static"
