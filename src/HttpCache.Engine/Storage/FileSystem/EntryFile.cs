using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace HttpCache.Engine.Storage.FileSystem;

/// <summary>What an entry's <c>.meta</c> file says: the indexed fields, the body's length and checksum, the metadata blob.</summary>
internal sealed record EntryMeta
{
    public required string Key { get; init; }
    public required string PrimaryKey { get; init; }
    public required string Method { get; init; }
    public required string Uri { get; init; }
    public int StatusCode { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? KeepUntil { get; init; }
    public long HitCount { get; init; }
    public DateTimeOffset? LastAccessedAt { get; init; }
    public long Size { get; init; }

    /// <summary>The body file's length and checksum: what a read checks it against, to tell a torn or damaged file.</summary>
    public BodyChecksum Body { get; init; }

    public long BodyLength => Body.Length;

    /// <summary>Written through a streaming writer: readers never load the body whole (see <see cref="CacheRecordInfo.BodyStreamed"/>).</summary>
    public bool BodyStreamed { get; init; }

    /// <summary>Null when the file was read for its fields only.</summary>
    public byte[]? Metadata { get; init; }

    public long LruTicks => StoreLimitsRules.LruTicks(LastAccessedAt, CreatedAt);

    public CacheRecordInfo ToInfo() => new()
    {
        Key = Key,
        PrimaryKey = PrimaryKey,
        Method = Method,
        Uri = Uri,
        StatusCode = StatusCode,
        CreatedAt = CreatedAt,
        ExpiresAt = ExpiresAt,
        KeepUntil = KeepUntil,
        Size = Size,
        HitCount = HitCount,
        LastAccessedAt = LastAccessedAt,
        BodyStreamed = BodyStreamed,
    };

    public CacheRecord ToRecord(byte[] body) =>
        CacheRecord.From(ToInfo(), Metadata ?? throw new InvalidOperationException("The metadata was not read."), body);
}

/// <summary>
/// The <c>.meta</c> format: a small, indented JSON object a user can read, with a <c>format</c> number so a
/// later version can change it (a file of an unknown format reads as missing). Times are ISO 8601 in UTC,
/// exact to the tick; the metadata blob is base64 and comes last, after the fields a person looks for. The body's
/// checksum is named for its algorithm: <c>bodyCrc32c</c> (8 hex digits) since entry format 4, <c>bodyXxHash3</c>
/// (16) in files written before, still read.
/// </summary>
internal static class EntryFile
{
    public const int Format = 1;

    private const string Crc32CName = "bodyCrc32c";
    private const string XxHash3Name = "bodyXxHash3";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Indented = true,
        // Not HTML: URLs and non-ASCII text stay readable instead of turning into \u escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static byte[] Serialize(EntryMeta meta)
    {
        var buffer = new ArrayBufferWriter<byte>(512 + (meta.Metadata?.Length ?? 0) * 4 / 3);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("format", Format);
            writer.WriteString("key", meta.Key);
            writer.WriteString("primaryKey", meta.PrimaryKey);
            writer.WriteString("method", meta.Method);
            writer.WriteString("uri", meta.Uri);
            writer.WriteNumber("status", meta.StatusCode);
            writer.WriteString("createdAt", meta.CreatedAt.ToUniversalTime());
            WriteTime(writer, "expiresAt", meta.ExpiresAt);
            WriteTime(writer, "keepUntil", meta.KeepUntil);
            writer.WriteNumber("hitCount", meta.HitCount);
            WriteTime(writer, "lastAccessedAt", meta.LastAccessedAt);
            writer.WriteNumber("size", meta.Size);
            writer.WriteNumber("bodyLength", meta.BodyLength);
            var (checksumName, digits) = meta.Body.Algorithm == BodyChecksumAlgorithm.XxHash3 ? (XxHash3Name, "x16") : (Crc32CName, "x8");
            writer.WriteString(checksumName, meta.Body.Hash.ToString(digits, CultureInfo.InvariantCulture));
            if (meta.BodyStreamed)
            {
                // Only when set, so the files of entries stored whole stay as earlier versions wrote them.
                writer.WriteBoolean("bodyStreamed", true);
            }

            writer.WriteBase64String("metadata", meta.Metadata ?? throw new InvalidOperationException("No metadata to write."));
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The fields of a <c>.meta</c> file, or null when it is not one this version can read (garbage, cut short,
    /// another format, inconsistent sizes). <paramref name="withMetadata"/> false skips decoding the blob.
    /// </summary>
    public static EntryMeta? TryParse(ReadOnlySpan<byte> json, bool withMetadata)
    {
        try
        {
            return Parse(json, withMetadata);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            return null;
        }
    }

    private static EntryMeta? Parse(ReadOnlySpan<byte> json, bool withMetadata)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }

        int? format = null, status = null;
        string? key = null, primaryKey = null, method = null, uri = null, bodyHash = null;
        var algorithm = BodyChecksumAlgorithm.Crc32C;
        DateTimeOffset? createdAt = null, expiresAt = null, keepUntil = null, lastAccessedAt = null;
        long? hitCount = null, size = null, bodyLength = null;
        byte[]? metadata = null;
        var sawMetadata = false;
        var bodyStreamed = false;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "format": format = reader.GetInt32(); break;
                case "key": key = reader.GetString(); break;
                case "primaryKey": primaryKey = reader.GetString(); break;
                case "method": method = reader.GetString(); break;
                case "uri": uri = reader.GetString(); break;
                case "status": status = reader.GetInt32(); break;
                case "createdAt": createdAt = reader.GetDateTimeOffset(); break;
                case "expiresAt": expiresAt = OptionalTime(ref reader); break;
                case "keepUntil": keepUntil = OptionalTime(ref reader); break;
                case "hitCount": hitCount = reader.GetInt64(); break;
                case "lastAccessedAt": lastAccessedAt = OptionalTime(ref reader); break;
                case "size": size = reader.GetInt64(); break;
                case "bodyLength": bodyLength = reader.GetInt64(); break;
                case Crc32CName: (bodyHash, algorithm) = (reader.GetString(), BodyChecksumAlgorithm.Crc32C); break;
                case XxHash3Name: (bodyHash, algorithm) = (reader.GetString(), BodyChecksumAlgorithm.XxHash3); break;
                case "bodyStreamed": bodyStreamed = reader.GetBoolean(); break;
                case "metadata":
                    sawMetadata = reader.TokenType == JsonTokenType.String;
                    metadata = withMetadata ? reader.GetBytesFromBase64() : null;
                    break;
                default: reader.Skip(); break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject || format != Format || key is null || primaryKey is null
            || method is null || uri is null || status is null || createdAt is null || hitCount is null
            || size is null || bodyLength is null || !sawMetadata
            || !ulong.TryParse(bodyHash, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hash)
            || (metadata is not null && size != metadata.Length + bodyLength))
        {
            return null;
        }

        return new EntryMeta
        {
            Key = key,
            PrimaryKey = primaryKey,
            Method = method,
            Uri = uri,
            StatusCode = status.Value,
            CreatedAt = createdAt.Value,
            ExpiresAt = expiresAt,
            KeepUntil = keepUntil,
            HitCount = hitCount.Value,
            LastAccessedAt = lastAccessedAt,
            Size = size.Value,
            Body = new BodyChecksum(bodyLength.Value, hash, algorithm),
            BodyStreamed = bodyStreamed,
            Metadata = metadata,
        };
    }

    private static void WriteTime(Utf8JsonWriter writer, string name, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            writer.WriteString(name, t.ToUniversalTime());
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static DateTimeOffset? OptionalTime(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Null ? null : reader.GetDateTimeOffset();
}
