namespace HttpCache.Engine.Storage.Redis;

/// <summary>
/// The Lua scripts of <see cref="RedisCacheStore"/>. Each touches keys of one hash slot only: an entry and
/// its primary key's variant set (same hash tag), or the namespace's limits bookkeeping (its own tag).
/// StackExchange.Redis sends EVALSHA once a script is known to a server and EVAL otherwise.
/// </summary>
internal static class RedisScripts
{
    // The entry hash's fields. Times are UTC ticks in decimal; absent optional fields are absent.
    public const string Key = "k";
    public const string PrimaryKey = "p";
    public const string Method = "m";
    public const string Uri = "u";
    public const string Status = "s";
    public const string CreatedAt = "c";
    public const string ExpiresAt = "x";
    public const string KeepUntil = "ku";
    public const string Size = "z";
    public const string Hits = "h";
    public const string LastAccessedAt = "a";
    public const string Metadata = "md";
    public const string Body = "b";

    /// <summary>The fields of a <see cref="CacheRecordInfo"/>, in the order the readers expect.</summary>
    public const string InfoFields = "'k', 'p', 'm', 'u', 's', 'c', 'x', 'ku', 'z', 'h', 'a'";

    /// <summary>How many fields <see cref="InfoFields"/> names; the two blobs follow them.</summary>
    public const int InfoFieldCount = 11;

    // Drops members whose entry is gone (expired or removed) and gives the set the longest TTL of its
    // entries: none when one of them has none.
    private const string FixSet = """
        local function fixset(set, prefix)
          local longest = 0
          local forever = false
          for _, member in ipairs(redis.call('SMEMBERS', set)) do
            local ttl = redis.call('PTTL', prefix .. member)
            if ttl == -2 then
              redis.call('SREM', set, member)
            elseif ttl == -1 then
              forever = true
            elseif ttl > longest then
              longest = ttl
            end
          end
          if forever then
            redis.call('PERSIST', set)
          elseif longest > 0 then
            redis.call('PEXPIRE', set, longest)
          end
        end

        """;

    /// <summary>
    /// KEYS[1] variant set. ARGV[1] entry key prefix, ARGV[2] '1' with blobs, '0' without.
    /// Returns one array of field values per live variant.
    /// </summary>
    public const string GetVariants = $$"""
        local out = {}
        for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
          local values
          if ARGV[2] == '1' then
            values = redis.call('HMGET', ARGV[1] .. member, {{InfoFields}}, 'md', 'b')
          else
            values = redis.call('HMGET', ARGV[1] .. member, {{InfoFields}})
          end
          if values[1] then
            out[#out + 1] = values
          end
        end
        return out
        """;

    /// <summary>
    /// KEYS[1] entry hash, KEYS[2] variant set. ARGV[1] the entry's member in the set, ARGV[2] time to keep
    /// in ms ('' = no TTL), ARGV[3] entry key prefix, ARGV[4..] field/value pairs.
    /// </summary>
    public const string Set = FixSet + """
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], unpack(ARGV, 4))
        redis.call('SADD', KEYS[2], ARGV[1])
        if ARGV[2] ~= '' then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
        end
        fixset(KEYS[2], ARGV[3])
        return 1
        """;

    /// <summary>KEYS[1] variant set. ARGV[1] entry key prefix, ARGV[2..] members. Returns how many entries went.</summary>
    public const string Remove = FixSet + """
        local removed = 0
        for i = 2, #ARGV do
          removed = removed + redis.call('DEL', ARGV[1] .. ARGV[i])
          redis.call('SREM', KEYS[1], ARGV[i])
        end
        fixset(KEYS[1], ARGV[1])
        return removed
        """;

    /// <summary>
    /// KEYS[1] entry hash, KEYS[2] variant set. ARGV[1] entry key prefix, ARGV[2] expires-at ticks, ARGV[3]
    /// keep-until ticks, ARGV[4] time to keep in ms ('' = absent / no TTL). Returns 1, or 0 when there is no entry.
    /// </summary>
    public const string UpdateExpiration = FixSet + """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return 0
        end
        if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'x') else redis.call('HSET', KEYS[1], 'x', ARGV[2]) end
        if ARGV[3] == '' then redis.call('HDEL', KEYS[1], 'ku') else redis.call('HSET', KEYS[1], 'ku', ARGV[3]) end
        if ARGV[4] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
        fixset(KEYS[2], ARGV[1])
        return 1
        """;

    /// <summary>
    /// KEYS[1] entry hash. ARGV[1] hits to add, ARGV[2] access time in ticks. Moves last access forward only
    /// (ticks compared as decimal strings: Lua's doubles cannot hold them exactly). Returns the entry's last
    /// access ticks, or nil when there is no entry.
    /// </summary>
    public const string RecordAccess = """
        if redis.call('EXISTS', KEYS[1]) == 0 then
          return false
        end
        redis.call('HINCRBY', KEYS[1], 'h', ARGV[1])
        local last = redis.call('HGET', KEYS[1], 'a')
        if (not last) or #last < #ARGV[2] or (#last == #ARGV[2] and last < ARGV[2]) then
          redis.call('HSET', KEYS[1], 'a', ARGV[2])
          last = ARGV[2]
        end
        return last
        """;

    /// <summary>
    /// KEYS[1] lru, KEYS[2] sizes, KEYS[3] keep, KEYS[4] bytes. ARGV groups of four, one per entry: entry key, size,
    /// last use (ms), keep-until (ms, '' = none). Returns { entries, bytes } of the namespace after them all.
    /// </summary>
    public const string LruRecord = """
        local delta = 0
        for i = 1, #ARGV, 4 do
          local previous = redis.call('HGET', KEYS[2], ARGV[i])
          redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
          delta = delta + tonumber(ARGV[i + 1]) - tonumber(previous or '0')
          redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i])
          if ARGV[i + 3] == '' then
            redis.call('ZREM', KEYS[3], ARGV[i])
          else
            redis.call('ZADD', KEYS[3], ARGV[i + 3], ARGV[i])
          end
        end
        redis.call('INCRBY', KEYS[4], string.format('%d', delta))
        return { redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[4]) or '0') }
        """;

    /// <summary>KEYS as <see cref="LruRecord"/>. ARGV entry keys. Drops them; the byte total goes with the last one.</summary>
    public const string LruForget = """
        for i = 1, #ARGV do
          local size = redis.call('HGET', KEYS[2], ARGV[i])
          if size then
            redis.call('HDEL', KEYS[2], ARGV[i])
            redis.call('DECRBY', KEYS[4], size)
          end
          redis.call('ZREM', KEYS[1], ARGV[i])
          redis.call('ZREM', KEYS[3], ARGV[i])
        end
        if redis.call('ZCARD', KEYS[1]) == 0 then
          redis.call('DEL', KEYS[4])
        end
        return 1
        """;

    /// <summary>KEYS as <see cref="LruRecord"/>. ARGV pairs of entry key and last use (ms): moves tracked entries forward only.</summary>
    public const string LruTouch = """
        for i = 1, #ARGV, 2 do
          if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then
            redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i])
          end
        end
        return 1
        """;

    /// <summary>KEYS as <see cref="LruRecord"/>. ARGV[1] entry key, ARGV[2] keep-until (ms, '' = none), for a tracked entry.</summary>
    public const string LruKeep = """
        if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
          if ARGV[2] == '' then
            redis.call('ZREM', KEYS[3], ARGV[1])
          else
            redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
          end
        end
        return 1
        """;

    /// <summary>
    /// KEYS as <see cref="LruRecord"/>. ARGV[1] how many candidates. Returns { entries, bytes, key1, size1,
    /// key2, size2, … }: the totals and the least recently used keys read together, so an evictor never
    /// weighs a fresh list of candidates against stale totals (which would evict too much).
    /// </summary>
    public const string LruCandidates = """
        local out = { redis.call('ZCARD', KEYS[1]), tonumber(redis.call('GET', KEYS[4]) or '0') }
        for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)) do
          out[#out + 1] = member
          out[#out + 1] = redis.call('HGET', KEYS[2], member) or '0'
        end
        return out
        """;

    /// <summary>KEYS[1] index key. ARGV[1] primary key: deletes the index only while it still names it.</summary>
    public const string DeleteIndexIfOwned = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;
}
