#!/usr/bin/env bash
# The API end to end with curl and jq, as a client uses it: rooms by page, messages by cursor,
# following new messages with ETags, invitations, moderation, idempotent sends, soft deletes.
# Each step checks the status it expects and stops at the first surprise.
#
#   SPIN_VARIABLE_JWT_SECRET=<the app's secret> docs/walkthrough.sh [BASE_URL]
#
# BASE_URL defaults to http://127.0.0.1:3000 (`spin up`). Tokens are minted with devtoken.
# ./scripts/test runs it against a fresh `spin up` (or the test host) when jq is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-http://127.0.0.1:3000}
devtoken=${DEVTOKEN:-"cargo run -q -p devtoken --"}
run=$(date +%s%N)

# call STATUS METHOD PATH TOKEN [BODY] [HEADER...]: the answer's body; fails unless STATUS.
call() {
    local want=$1 method=$2 path=$3 token=$4 body=${5:-}
    shift 5 2>/dev/null || shift $#
    local out
    out=$(mktemp)
    local args=(-s -o "$out" -w '%{http_code}' -X "$method" "$base$path")
    [ -n "$token" ] && args+=(-H "authorization: Bearer $token")
    [ -n "$body" ] && args+=(-H 'content-type: application/json' -d "$body")
    for header in "$@"; do args+=(-H "$header"); done
    local got
    got=$(curl "${args[@]}")
    if [ "$got" != "$want" ]; then
        echo "$method $path: answered $got, expected $want: $(cat "$out")" >&2
        rm -f "$out"
        exit 1
    fi
    cat "$out"
    rm -f "$out"
}
step() { echo "-- $*"; }

ada_id=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)
bob_id=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen)
ADA=$($devtoken --user "$ada_id" --name Ada)
BOB=$($devtoken --user "$bob_id" --name Bob)

step "Ada creates two rooms; the listing pages them newest first"
general=$(call 201 POST /api/rooms "$ADA" "{\"name\": \"General $run\", \"description\": \"Anything goes\"}" | jq -r .data.id)
call 201 POST /api/rooms "$ADA" "{\"name\": \"Random $run\"}" >/dev/null
page1=$(call 200 GET "/api/rooms?joined=true&limit=1&page=1" "$ADA")
[ "$(jq -r '.data[0].name' <<<"$page1")" = "Random $run" ] && [ "$(jq .pagination.hasMore <<<"$page1")" = true ]
page2=$(call 200 GET "/api/rooms?joined=true&limit=1&page=2" "$ADA")
[ "$(jq -r '.data[0].id' <<<"$page2")" = "$general" ]

step "Bob joins General and sends five messages, one of them twice with the same Idempotency-Key"
call 201 POST "/api/rooms/$general/join" "$BOB" >/dev/null
for i in 1 2 3 4 5; do
    call 201 POST "/api/rooms/$general/messages" "$BOB" "{\"content\": \"message $i\"}" "idempotency-key: $run-$i" >/dev/null
done
call 200 POST "/api/rooms/$general/messages" "$BOB" '{"content": "message 5"}' "idempotency-key: $run-5" >/dev/null

step "Ada reads the newest two, then older ones by prevCursor until there are none"
newest=$(call 200 GET "/api/rooms/$general/messages?limit=2" "$ADA")
[ "$(jq -r '[.data[].content] | join(",")' <<<"$newest")" = "message 4,message 5" ]
seen=2 cursor=$(jq -r .pagination.prevCursor <<<"$newest")
while [ "$cursor" != null ]; do
    older=$(call 200 GET "/api/rooms/$general/messages?limit=2&before=$cursor" "$ADA")
    seen=$((seen + $(jq '.data | length' <<<"$older")))
    cursor=$(jq -r .pagination.prevCursor <<<"$older")
done
[ "$seen" = 5 ]

step "Ada follows new messages: poll with after=nextCursor; an unchanged page is 304 by its ETag"
next=$(jq -r .pagination.nextCursor <<<"$newest")
empty=$(call 200 GET "/api/rooms/$general/messages?after=$next" "$ADA")
[ "$(jq '.data | length' <<<"$empty")" = 0 ] && [ "$(jq -r .pagination.nextCursor <<<"$empty")" = "$next" ]
etag=$(curl -s -o /dev/null -D - "$base/api/rooms/$general/messages?after=$next" -H "authorization: Bearer $ADA" | tr -d '\r' | awk 'tolower($1) == "etag:" {print $2}')
call 304 GET "/api/rooms/$general/messages?after=$next" "$ADA" "" "if-none-match: $etag" >/dev/null
call 201 POST "/api/rooms/$general/messages" "$BOB" '{"content": "message 6"}' >/dev/null
fresh=$(call 200 GET "/api/rooms/$general/messages?after=$next" "$ADA")
[ "$(jq -r '.data[0].content' <<<"$fresh")" = "message 6" ]

step "A private room: Bob sees it only once invited, and joining consumes the invitation"
vault=$(call 201 POST /api/rooms "$ADA" "{\"name\": \"Vault $run\", \"isPrivate\": true}" | jq -r .data.id)
call 404 GET "/api/rooms/$vault" "$BOB" >/dev/null
call 201 POST "/api/rooms/$vault/invitations" "$ADA" "{\"userId\": \"$bob_id\"}" >/dev/null
call 200 GET "/api/rooms?invited=true" "$BOB" | jq -e --arg id "$vault" '[.data[].id] | index($id) != null' >/dev/null
call 201 POST "/api/rooms/$vault/join" "$BOB" >/dev/null
call 200 GET "/api/rooms/$vault/invitations" "$ADA" | jq -e '.pagination.total == 0' >/dev/null

step "Moderation: Ada promotes Bob, Bob deletes a message, Ada leaves, Bob is the last admin"
call 200 PUT "/api/rooms/$vault/members/$bob_id" "$ADA" '{"role": "admin"}' >/dev/null
message=$(call 201 POST "/api/rooms/$vault/messages" "$ADA" '{"content": "to be deleted"}' | jq -r .data.id)
call 204 DELETE "/api/rooms/$vault/messages/$message" "$BOB" >/dev/null
call 200 GET "/api/rooms/$vault/messages/$message" "$BOB" | jq -e '.data.deleted and .data.content == null' >/dev/null
call 204 POST "/api/rooms/$vault/leave" "$ADA" >/dev/null
call 409 POST "/api/rooms/$vault/leave" "$BOB" >/dev/null
call 204 DELETE "/api/rooms/$vault" "$BOB" >/dev/null
call 404 GET "/api/rooms/$vault" "$BOB" >/dev/null

step "Errors come in one envelope"
call 401 GET /api/rooms "" | jq -e '.ok == false and .code == "UNAUTHORIZED"' >/dev/null
call 400 GET /api/rooms/not-a-uuid "$ADA" | jq -e '.details[0].field == "id"' >/dev/null
echo "walkthrough passed against $base"
