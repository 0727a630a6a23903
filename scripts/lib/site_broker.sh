# Sourced by the benchmarks for BENCH_SECURE=1: the site broker as shipped in
# config/mosquitto/ (TLS only, client certificates as identity, the per-site ACL), with a
# CA and certificates made here by openssl, and Ed25519 keys for signing on both sides.
#
#   site_broker_setup WORK PORT SITE CUSTOMS_EDGE_BIN
#
# writes WORK/mosquitto.conf and WORK/tls/*, WORK/keys/*, and sets:
#   SB_BROKER        mqtts://127.0.0.1:PORT
#   SB_SITE_TOML     the [platform] lines for the controller (TLS files; [platform.signing]
#                    must come last, so it is in SB_SIGNING_TOML)
#   SB_SIGNING_TOML  the controller's [platform.signing] table
#   SB_PLATFORM_ARGS platform-sim flags for the platform (CN customs-edge-platform; the
#                    bench's second platform client uses them too, under its own client id)

site_broker_setup() {
    local work=$1 port=$2 site=$3 bin=$4
    local tls=$work/tls keys=$work/keys
    mkdir -p "$tls" "$keys" "$work/mqtt-data"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
        -subj "/CN=bench site CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    _sb_issue "$tls" server localhost "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
    _sb_issue "$tls" site "$site" "extendedKeyUsage=clientAuth"
    _sb_issue "$tls" platform customs-edge-platform "extendedKeyUsage=clientAuth"
    cp config/mosquitto/acl.conf "$work/acl.conf"
    { echo "user root"
      sed -e "s|^persistence_location .*|persistence_location $work/mqtt-data/|" \
          -e "s|^listener .*|listener $port 127.0.0.1|" \
          -e "s|^cafile .*|cafile $tls/ca.crt|" \
          -e "s|^certfile .*|certfile $tls/server.crt|" \
          -e "s|^keyfile .*|keyfile $tls/server.key|" \
          -e "s|^acl_file .*|acl_file $work/acl.conf|" \
          -e "s|^log_dest .*|log_dest file $work/mosquitto.log|" \
          config/mosquitto/mosquitto.conf
    } > "$work/mosquitto.conf"
    "$bin" keys generate --out "$keys/site.key" > "$keys/site.pub" 2>/dev/null
    "$bin" keys generate --out "$keys/platform.key" > "$keys/platform.pub" 2>/dev/null
    SB_BROKER="mqtts://127.0.0.1:$port"
    SB_SITE_TOML="ca_file = \"$tls/ca.crt\"
client_cert_file = \"$tls/site.crt\"
client_key_file = \"$tls/site.key\""
    SB_SIGNING_TOML="[platform.signing]
site_key_file = \"$keys/site.key\"
platform_keys = [\"$(cat "$keys/platform.pub")\"]"
    SB_PLATFORM_ARGS=(--ca-file "$tls/ca.crt" --signing-key "$keys/platform.key"
        --site-key "$site=$(cat "$keys/site.pub")"
        --client-cert "$tls/platform.crt" --client-key "$tls/platform.key")
}

_sb_issue() {
    local dir=$1 name=$2 cn=$3 ext=$4
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=$cn" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
        -CAcreateserial -days 7 -extfile <(printf '%s\n' "$ext") -out "$dir/$name.crt" 2>/dev/null
}
