using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using HttpCache.Engine.Policy;

namespace HttpCache.Engine.Http;

/// <summary>
/// Cache keys, stable across processes, runs and machines (documented in docs/ARCHITECTURE.md).
/// The primary key identifies a method and a resource; a variant key adds the request header values
/// the stored response's Vary names.
/// </summary>
/// <remarks>
/// primary = first 16 bytes, lower-case hex, of SHA-256 over UTF-8
/// <c>METHOD \x1e normalized-URL \x1e body-digest</c>; body-digest is the SHA-256 hex of the request
/// body, or empty when there is none. Variant = <c>primary</c> when the response varies on nothing,
/// else <c>primary "." first 8 bytes hex of SHA-256 over (name \x1f value \x1e)*</c>, names lower-case.
/// \x1e and \x1f cannot occur in a URL or a header value, so no two different inputs join alike.
/// Secrets (the settings' secret names) take part as <see cref="SecretDigest"/>s in place of their values:
/// those parts of a key depend on the key secret, the rest does not.
/// </remarks>
public static class CacheKey
{
    private const char Record = '\x1e';
    private const char Unit = '\x1f';

    /// <summary>The marker that replaces a secret wherever a request is stored (as requests-cache).</summary>
    public const string Redacted = "REDACTED";

    /// <summary>requests-cache's limit on bodies normalized before hashing; larger ones are hashed as they are.</summary>
    public const int MaxNormalizedBodySize = 10 * 1024 * 1024;

    /// <summary>The prefix of a secret's digest wherever it is keyed or shown.</summary>
    public const string DigestPrefix = "hmac-sha256:";

    /// <summary>The primary key of a request that carries no secrets (no names are treated as secret).</summary>
    public static string Primary(string method, Uri uri, byte[]? body) => Primary(method, uri, body, null, null);

    /// <summary>
    /// The primary key of a request: secret query parameters and JSON/form body fields keyed by their
    /// <see cref="SecretDigest"/>, excluded ones left out, and the effective host (a <c>Host</c> header that
    /// overrides the URL's) in place of the URL's.
    /// </summary>
    public static string Primary(string method, Uri uri, byte[]? body, string? contentType, CacheSettings? settings, string? host = null) =>
        Primary(method, uri, body, contentType, settings, host, out _);

    /// <summary>The primary key; <paramref name="keyedSecret"/> is true when a secret of the URL took part as its digest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static string Primary(string method, Uri uri, byte[]? body, string? contentType, CacheSettings? settings, string? host, out bool keyedSecret)
    {
        var bodyDigest = body is { Length: > 0 } ? LowerHex(SHA256.HashData(NormalizeBody(body, contentType, settings))) : string.Empty;
        var url = NormalizeUrl(uri, settings, host);
        keyedSecret = url.Contains(DigestPrefix, StringComparison.Ordinal);
        return Hash(string.Concat(method.ToUpperInvariant(), Record.ToString(), url, Record.ToString(), bodyDigest), 16);
    }

    /// <summary>
    /// A secret's value as keys and stored variants carry it: HMAC-SHA-256 under <paramref name="keySecret"/>
    /// (an empty key when null), 16 bytes in lower-case hex, after <see cref="DigestPrefix"/>. Without the key
    /// secret, nobody can test guesses against it.
    /// </summary>
    public static string SecretDigest(string value, byte[]? keySecret)
    {
        Span<byte> digest = stackalloc byte[32];
        HMACSHA256.HashData(keySecret ?? [], Encoding.UTF8.GetBytes(value), digest);
        return DigestPrefix + LowerHex(digest[..16]);
    }

    /// <summary>The URL with the values of secret and excluded query parameters replaced by REDACTED, for storing and showing.</summary>
    public static string RedactUrl(Uri uri, CacheSettings settings)
    {
        var query = uri.Query;
        if (query.Length <= 1)
        {
            return uri.AbsoluteUri;
        }

        var parameters = query[1..].Split('&');
        var redacted = false;
        for (var i = 0; i < parameters.Length; i++)
        {
            if (settings.IsRedacted(ParameterName(parameters[i])))
            {
                var equals = parameters[i].IndexOf('=');
                parameters[i] = (equals < 0 ? parameters[i] : parameters[i][..equals]) + "=" + Redacted;
                redacted = true;
            }
        }

        if (!redacted)
        {
            // Nothing secret in it (the usual case): no need to build the URL again.
            return uri.AbsoluteUri;
        }

        var builder = new UriBuilder(uri) { Query = string.Join('&', parameters) };
        return builder.Uri.AbsoluteUri;
    }

    /// <summary>
    /// The body as the key sees it: JSON objects with sorted keys, form data with sorted pairs, both with
    /// secret fields' values as digests and excluded fields left out; anything else as it is.
    /// </summary>
    public static byte[] NormalizeBody(byte[] body, string? contentType, CacheSettings? settings)
    {
        if (body.Length > MaxNormalizedBodySize)
        {
            return body;
        }

        var media = contentType?.Split(';')[0].Trim() ?? string.Empty;
        if (media.EndsWith("json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var node = System.Text.Json.Nodes.JsonNode.Parse(body);
                return node is null ? body : Encoding.UTF8.GetBytes(CanonicalJson(node, settings));
            }
            catch (System.Text.Json.JsonException)
            {
                return body;
            }
        }

        if (media.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            var pairs = Encoding.UTF8.GetString(body).Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => settings is null ? p : KeyedParameter(p, ParameterName(p.Replace('+', ' ')), settings))
                .OfType<string>()
                .Order(StringComparer.Ordinal);
            return Encoding.UTF8.GetBytes(string.Join('&', pairs));
        }

        return body;
    }

    private static string CanonicalJson(System.Text.Json.Nodes.JsonNode? node, CacheSettings? settings) => node switch
    {
        System.Text.Json.Nodes.JsonObject obj => "{" + string.Join(",", obj
            .Where(p => settings is null || !settings.IsExcludedFromKey(p.Key))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => System.Text.Json.JsonSerializer.Serialize(p.Key) + ":" + (settings is not null && settings.IsKeyedSecret(p.Key)
                ? System.Text.Json.JsonSerializer.Serialize(SecretDigest(CanonicalJson(p.Value, settings), settings.KeySecret))
                : CanonicalJson(p.Value, settings)))) + "}",
        System.Text.Json.Nodes.JsonArray array => "[" + string.Join(",", array.Select(item => CanonicalJson(item, settings))) + "]",
        null => "null",
        _ => node.ToJsonString(),
    };

    /// <summary>The key of one variant: the primary key when <paramref name="varyValues"/> is empty.</summary>
    public static string Variant(string primaryKey, IReadOnlyList<KeyValuePair<string, string>> varyValues)
    {
        if (varyValues.Count == 0)
        {
            return primaryKey;
        }

        var builder = new StringBuilder();
        foreach (var (name, value) in varyValues.OrderBy(v => v.Key, StringComparer.OrdinalIgnoreCase))
        {
            builder.Append(name.ToLowerInvariant()).Append(Unit).Append(value).Append(Record);
        }

        return primaryKey + "." + Hash(builder.ToString(), 8);
    }

    /// <summary>
    /// The URL as keys see it: scheme and host lower case, the default port dropped, the query's
    /// parameters sorted (their encoding kept), the fragment dropped. The path keeps its case.
    /// </summary>
    public static string NormalizeUrl(Uri uri) => NormalizeUrl(uri, null);

    /// <summary>
    /// The normalized URL with secret query parameters' values as digests and excluded ones left out;
    /// <paramref name="host"/> (a Host header's value), when given, stands for the URL's host and port.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static string NormalizeUrl(Uri uri, CacheSettings? settings, string? host = null)
    {
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException($"'{uri}' is not an absolute URL.", nameof(uri));
        }

        var builder = new StringBuilder(uri.OriginalString.Length);
        builder.Append(uri.Scheme.ToLowerInvariant()).Append("://");
        if (EffectiveAuthority(uri, host) is { } authority)
        {
            builder.Append(authority);
        }
        else
        {
            builder.Append(uri.Host.ToLowerInvariant());
            if (!uri.IsDefaultPort)
            {
                builder.Append(':').Append(uri.Port);
            }
        }

        builder.Append(uri.AbsolutePath);
        var query = uri.Query;
        if (query.Length > 1)
        {
            var parameters = query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries);
            var kept = parameters.Length;
            if (settings is not null)
            {
                kept = 0;
                foreach (var parameter in parameters)
                {
                    if (KeyedParameter(parameter, ParameterName(parameter), settings) is { } keyed)
                    {
                        parameters[kept++] = keyed;
                    }
                }
            }

            Array.Sort(parameters, 0, kept, StringComparer.Ordinal);
            for (var i = 0; i < kept; i++)
            {
                builder.Append(i == 0 ? '?' : '&').Append(parameters[i]);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// A Host header that names another authority than the URL's, lower case and without the scheme's default
    /// port; null when there is none or it names the URL's own (so such requests keep their usual key).
    /// </summary>
    private static string? EffectiveAuthority(Uri uri, string? host)
    {
        if (string.IsNullOrWhiteSpace(host))
        {
            return null;
        }

        var authority = host.Trim().ToLowerInvariant();
        var defaultPort = uri.Scheme.Equals("https", StringComparison.OrdinalIgnoreCase) ? ":443" : uri.Scheme.Equals("http", StringComparison.OrdinalIgnoreCase) ? ":80" : null;
        if (defaultPort is not null && authority.EndsWith(defaultPort, StringComparison.Ordinal))
        {
            authority = authority[..^defaultPort.Length];
        }

        var own = uri.IsDefaultPort ? uri.Host.ToLowerInvariant() : uri.Host.ToLowerInvariant() + ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return authority == own || authority == uri.Authority.ToLowerInvariant() ? null : authority;
    }

    /// <summary>A query or form pair as the key sees it: null when excluded, the value as a digest when secret.</summary>
    private static string? KeyedParameter(string parameter, string name, CacheSettings settings)
    {
        if (settings.IsExcludedFromKey(name))
        {
            return null;
        }

        if (!settings.SecretNames.Contains(name))
        {
            return parameter;
        }

        var equals = parameter.IndexOf('=');
        return (equals < 0 ? parameter : parameter[..equals]) + "=" + SecretDigest(equals < 0 ? string.Empty : parameter[(equals + 1)..], settings.KeySecret);
    }

    // A parameter's name is what comes before its first '=', percent-decoded (so api%5Fkey is api_key).
    private static string ParameterName(string parameter)
    {
        var equals = parameter.IndexOf('=');
        return Uri.UnescapeDataString(equals < 0 ? parameter : parameter[..equals]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static string Hash(string text, int bytes)
    {
        // Keys are computed on every request: the text is encoded without a heap copy when it is short.
        var length = Encoding.UTF8.GetMaxByteCount(text.Length);
        var rented = length > 1024 ? ArrayPool<byte>.Shared.Rent(length) : null;
        try
        {
            Span<byte> utf8 = rented is null ? stackalloc byte[1024] : rented;
            var written = Encoding.UTF8.GetBytes(text, utf8);
            Span<byte> digest = stackalloc byte[32];
            SHA256.HashData(utf8[..written], digest);
            return LowerHex(digest[..bytes]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static string LowerHex(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[bytes.Length * 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[2 * i] = "0123456789abcdef"[bytes[i] >> 4];
            chars[(2 * i) + 1] = "0123456789abcdef"[bytes[i] & 0xF];
        }

        return new string(chars);
    }
}
