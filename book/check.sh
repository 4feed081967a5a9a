#!/usr/bin/env bash
# Checks the book's includes: every `{{#include PATH}}`, `{{#include PATH:ANCHOR}}`
# and `{{#include PATH:START:END}}` in book/src/*.md (and its subfolders) must
# name a file that exists (relative to the chapter, as mdbook reads it), an
# anchor that the file opens with `ANCHOR: name` and closes with
# `ANCHOR_END: name`, and lines that the file has. Prints every broken include
# and exits with status 1 if there is one.
#
#   book/check.sh            # from anywhere

set -euo pipefail
cd "$(dirname "$0")"
shopt -s nullglob globstar

broken=0
checked=0

report() {
  printf '%s:%s: %s: %s\n' "$1" "$2" "$3" "$4"
  broken=$((broken + 1))
}

for md in src/**/*.md; do
  dir=$(dirname "$md")
  # `grep -o` gives one include per line, with its line number; an include
  # escaped with a backslash (`\{{#include`) is text, not an include.
  while IFS= read -r hit; do
    line=${hit%%:*}
    link=${hit#*:}
    if [[ $link == '\'* ]]; then
      continue
    fi
    link=${link#\{\{#include }
    link=${link%\}\}}
    link=$(printf '%s' "$link" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    path=${link%%:*}
    rest=
    if [[ $link == *:* ]]; then
      rest=${link#*:}
    fi
    checked=$((checked + 1))
    what="{{#include $link}}"
    file="$dir/$path"
    if [[ ! -f $file ]]; then
      report "$md" "$line" "$what" "no file $file"
      continue
    fi
    if [[ -z $rest ]]; then
      continue
    fi
    if [[ $rest =~ ^([0-9]*)(:([0-9]*))?$ ]]; then
      # A line range: START, START:, :END or START:END (1-based, inclusive).
      start=${BASH_REMATCH[1]}
      end=${BASH_REMATCH[3]}
      lines=$(wc -l <"$file")
      # A last line without a newline still counts.
      if [[ -n $(tail -c 1 "$file") ]]; then
        lines=$((lines + 1))
      fi
      if [[ -n $start && $start -gt $lines ]]; then
        report "$md" "$line" "$what" "$file has $lines lines; the range starts at line $start"
      elif [[ -n $end && $end -gt $lines ]]; then
        report "$md" "$line" "$what" "$file has $lines lines; the range ends at line $end"
      elif [[ -n $start && -n $end && $end -lt $start ]]; then
        report "$md" "$line" "$what" "the range ends (line $end) before it starts (line $start)"
      fi
      continue
    fi
    anchor=$rest
    if [[ ! $anchor =~ ^[A-Za-z0-9_-]+$ ]]; then
      report "$md" "$line" "$what" "\`$anchor\` is neither an anchor name nor a line range"
      continue
    fi
    if ! grep -Eq "ANCHOR:[[:space:]]*${anchor}([^A-Za-z0-9_-]|\$)" "$file"; then
      report "$md" "$line" "$what" "$file has no \`ANCHOR: $anchor\`"
    elif ! grep -Eq "ANCHOR_END:[[:space:]]*${anchor}([^A-Za-z0-9_-]|\$)" "$file"; then
      report "$md" "$line" "$what" "$file has no \`ANCHOR_END: $anchor\`"
    fi
  done < <(grep -no '\\\?{{#include [^}]*}}' "$md" || true)
done

if ((broken > 0)); then
  echo "$broken of $checked includes are broken" >&2
  exit 1
fi
echo "all $checked includes resolve"
