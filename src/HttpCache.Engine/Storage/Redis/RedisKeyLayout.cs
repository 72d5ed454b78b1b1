using System.Text;
using StackExchange.Redis;

namespace HttpCache.Engine.Storage.Redis;

/// <summary>
/// Where a <see cref="RedisCacheStore"/> keeps things. Everything lives under <c>&lt;ns&gt;:</c>:
/// <list type="table">
///   <item><term><c>&lt;ns&gt;:{&lt;pk&gt;}:e:&lt;key&gt;</c></term><description>HASH: one entry (its indexed fields and both blobs)</description></item>
///   <item><term><c>&lt;ns&gt;:{&lt;pk&gt;}:v</c></term><description>SET: the <c>&lt;key&gt;</c> segments of a primary key's variants</description></item>
///   <item><term><c>&lt;ns&gt;:i:&lt;key&gt;</c></term><description>STRING: the primary key an entry key is stored under</description></item>
///   <item><term><c>&lt;ns&gt;:counters</c></term><description>HASH: the persisted counters (HINCRBY)</description></item>
///   <item><term><c>&lt;ns&gt;:{&lt;ns&gt;}:lru|sizes|keep|bytes</c></term><description>the limits' bookkeeping, one slot</description></item>
/// </list>
/// The hash tag <c>{&lt;pk&gt;}</c> puts an entry and its primary key's variant set in one cluster slot, so
/// one Lua script reads or changes them together.
/// </summary>
/// <remarks>
/// Keys and primary keys become key segments as they are when made only of letters, digits, '.', '_' and
/// '-' (the engine's hex keys always are), else as '~' followed by the base64url of their UTF-8: a segment
/// never holds '{', '}', ':' or a glob character, so a hash tag cannot be cut short, MATCH patterns need no
/// escaping and key names parse back unambiguously. Two different strings never share a segment.
/// </remarks>
internal sealed class RedisKeyLayout
{
    private const int MaxNamespaceLength = 200;

    private readonly string _prefix;

    public RedisKeyLayout(string @namespace)
    {
        Validate(@namespace);
        Namespace = @namespace;
        _prefix = @namespace + ":";
        Counters = _prefix + "counters";
        var meta = _prefix + "{" + @namespace + "}:";
        Lru = meta + "lru";
        Sizes = meta + "sizes";
        Keep = meta + "keep";
        Bytes = meta + "bytes";
        EntryPattern = _prefix + "{*}:e:*";
        EverythingPattern = _prefix + "*";
    }

    public string Namespace { get; }

    /// <summary>HASH of counter name → value.</summary>
    public RedisKey Counters { get; }

    /// <summary>ZSET of entry key → last use (Unix ms).</summary>
    public RedisKey Lru { get; }

    /// <summary>HASH of entry key → bytes.</summary>
    public RedisKey Sizes { get; }

    /// <summary>ZSET of entry key → keep-until (Unix ms), for entries that have one.</summary>
    public RedisKey Keep { get; }

    /// <summary>STRING: the sum of <see cref="Sizes"/>.</summary>
    public RedisKey Bytes { get; }

    /// <summary>SCAN MATCH pattern for every entry hash of the namespace.</summary>
    public string EntryPattern { get; }

    /// <summary>SCAN MATCH pattern for every key of the namespace, whatever it is.</summary>
    public string EverythingPattern { get; }

    public RedisKey Entry(string primaryKey, string key) => EntryPrefix(primaryKey) + Segment(key);

    public string EntryPrefix(string primaryKey) => _prefix + "{" + Segment(primaryKey) + "}:e:";

    public RedisKey Variants(string primaryKey) => _prefix + "{" + Segment(primaryKey) + "}:v";

    public RedisKey Index(string key) => _prefix + "i:" + Segment(key);

    /// <summary>A string as one key segment (see the remarks on the class).</summary>
    public static string Segment(string value)
    {
        if (value.Length > 0 && value.AsSpan().IndexOfAnyExcept(SafeSegmentChars) < 0)
        {
            return value;
        }

        // base64url without padding (net8.0 has no Base64Url type).
        return "~" + Convert.ToBase64String(Encoding.UTF8.GetBytes(value)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    private static readonly System.Buffers.SearchValues<char> SafeSegmentChars =
        System.Buffers.SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._-");

    private static readonly System.Buffers.SearchValues<char> SafeNamespaceChars =
        System.Buffers.SearchValues.Create("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._-:/");

    private static void Validate(string @namespace)
    {
        ArgumentNullException.ThrowIfNull(@namespace);
        if (@namespace.Length is 0 or > MaxNamespaceLength || @namespace.AsSpan().IndexOfAnyExcept(SafeNamespaceChars) >= 0)
        {
            throw new ArgumentException(
                $"The Redis namespace '{@namespace}' is not valid: use 1 to {MaxNamespaceLength} letters, digits and '.', '_', '-', ':', '/'.",
                nameof(@namespace));
        }
    }
}
