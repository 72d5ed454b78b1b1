using System.Text;
using HttpCache.Engine.Policy;
using HttpCache.Engine.Storage;

namespace HttpCache.Engine.Http;

/// <summary>
/// The stored entry format: a small binary layout behind a magic number and a version byte, so that a
/// reader can tell a foreign, truncated or future entry from a good one. It holds data only — nothing
/// in it is ever executed (unlike the pickles some peers store).
/// </summary>
/// <remarks>
/// Version 1: 'H' 'C' 0x01; status (int32); reason (bool + string); version major, minor (byte);
/// request time, response time (UTC ticks, int64); corrected initial age (ticks, int64); header count
/// (int32) then name, value count, values; Vary count (int32) then name, value. Strings are
/// length-prefixed UTF-8. Version 2, written only for a body compressed for storage, adds after the
/// corrected initial age: the body's storage encoding (string: "br" or "gzip") and its original
/// length (int64). Version 3, written since bodies carry a checksum, has after the corrected initial age: the
/// storage encoding (string, empty for a body stored as received), the original length (int64), then the
/// stored body's length (int64) and XxHash3 (uint64) — see <see cref="BodyChecksum"/>. Version 4, written since the
/// checksum is CRC-32C, is version 3 with the checksum's algorithm (byte, <see cref="BodyChecksumAlgorithm"/>) between
/// the stored body's length and the checksum (uint64; CRC-32C in its low 32 bits). All four versions are read; an entry
/// of version 1 or 2 has no checksum (<see cref="StoredResponse.Checksum"/> is null).
/// </remarks>
public static class EntrySerializer
{
    /// <summary>The format version written: every entry carries its body's checksum and names its algorithm.</summary>
    public const byte FormatVersion = 4;

    /// <summary>The format an earlier release wrote, with the body's XxHash3; still read and checked.</summary>
    public const byte XxHash3FormatVersion = 3;

    /// <summary>The format an earlier release wrote for a body stored as received (no checksum).</summary>
    public const byte LegacyFormatVersion = 1;

    /// <summary>The format an earlier release wrote for a body compressed for storage (no checksum).</summary>
    public const byte LegacyCompressedFormatVersion = 2;

    private static readonly byte[] Magic = "HC"u8.ToArray();

    /// <summary>
    /// Serializes the HTTP description of an entry with the checksum of its stored body: <paramref name="checksum"/>
    /// when given (a streamed body, which is not in <paramref name="response"/>), else that of <see cref="StoredResponse.Body"/>.
    /// </summary>
    public static byte[] Serialize(StoredResponse response, BodyChecksum? checksum = null)
    {
        var sum = checksum ?? BodyChecksum.Of(response.Body);
        using var stream = new MemoryStream(256);
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(FormatVersion);
            writer.Write(response.StatusCode);
            writer.Write(response.ReasonPhrase is not null);
            if (response.ReasonPhrase is not null)
            {
                writer.Write(response.ReasonPhrase);
            }

            writer.Write((byte)response.Version.Major);
            writer.Write((byte)Math.Max(0, response.Version.Minor));
            writer.Write(response.RequestTime.UtcTicks);
            writer.Write(response.ResponseTime.UtcTicks);
            writer.Write(response.InitialAge.Ticks);
            writer.Write(response.BodyEncoding ?? string.Empty);
            writer.Write(response.BodyEncoding is null ? sum.Length : response.OriginalLength);
            writer.Write(sum.Length);
            writer.Write((byte)sum.Algorithm);
            writer.Write(sum.Hash);

            writer.Write(response.Headers.Count);
            foreach (var (name, values) in response.Headers)
            {
                writer.Write(name);
                writer.Write(values.Length);
                foreach (var value in values)
                {
                    writer.Write(value);
                }
            }

            writer.Write(response.VaryValues.Count);
            foreach (var (name, value) in response.VaryValues)
            {
                writer.Write(name);
                writer.Write(value);
            }
        }

        return stream.ToArray();
    }

    /// <summary>
    /// Reads an entry. Throws <see cref="InvalidDataException"/> for anything that is not a complete
    /// entry of a known version, and for a body (<paramref name="body"/>, unless the record's body is
    /// streamed) that does not match the entry's checksum; the caller treats that as a corrupt entry.
    /// </summary>
    public static StoredResponse Deserialize(CacheRecordInfo record, byte[] metadata, byte[] body)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(metadata, writable: false), Encoding.UTF8);
            if (reader.ReadByte() != Magic[0] || reader.ReadByte() != Magic[1])
            {
                throw new InvalidDataException("The entry does not start with the HttpCache magic number.");
            }

            var version = reader.ReadByte();
            if (version is not (FormatVersion or XxHash3FormatVersion or LegacyFormatVersion or LegacyCompressedFormatVersion))
            {
                throw new InvalidDataException($"The entry has format version {version}; this engine reads versions {LegacyFormatVersion} to {FormatVersion}.");
            }

            var status = reader.ReadInt32();
            var reason = reader.ReadBoolean() ? reader.ReadString() : null;
            var httpVersion = new Version(reader.ReadByte(), reader.ReadByte());
            var requestTime = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var responseTime = new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero);
            var initialAge = TimeSpan.FromTicks(reader.ReadInt64());
            string? bodyEncoding = null;
            var originalLength = (long)body.Length;
            BodyChecksum? checksum = null;
            if (version != LegacyFormatVersion)
            {
                bodyEncoding = reader.ReadString();
                originalLength = reader.ReadInt64();
                if (version >= XxHash3FormatVersion && bodyEncoding.Length == 0)
                {
                    bodyEncoding = null;
                }

                if (bodyEncoding is not (null or "br" or "gzip") || originalLength < 0)
                {
                    throw new InvalidDataException($"The entry has an unknown body encoding '{bodyEncoding}'.");
                }
            }

            if (version >= XxHash3FormatVersion)
            {
                checksum = ReadChecksum(reader, version);
                if (!record.BodyStreamed && !checksum.Value.Matches(body))
                {
                    throw new InvalidDataException(
                        $"The body does not match its checksum ({body.Length} bytes stored, {checksum.Value.Length} expected, or other bytes).");
                }
            }

            var headerCount = ReadCount(reader);
            var headers = new List<KeyValuePair<string, string[]>>(headerCount);
            for (var i = 0; i < headerCount; i++)
            {
                var name = reader.ReadString();
                var values = new string[ReadCount(reader)];
                for (var j = 0; j < values.Length; j++)
                {
                    values[j] = reader.ReadString();
                }

                headers.Add(new(name, values));
            }

            var varyCount = ReadCount(reader);
            var vary = new List<KeyValuePair<string, string>>(varyCount);
            for (var i = 0; i < varyCount; i++)
            {
                vary.Add(new(reader.ReadString(), reader.ReadString()));
            }

            if (reader.BaseStream.Position != metadata.Length)
            {
                throw new InvalidDataException("The entry has trailing bytes.");
            }

            if (status is < 100 or > 999)
            {
                throw new InvalidDataException($"The entry has an impossible status {status}.");
            }

            return new StoredResponse
            {
                Record = record,
                StatusCode = status,
                ReasonPhrase = reason,
                Version = httpVersion,
                Headers = headers,
                VaryValues = vary,
                RequestTime = requestTime,
                ResponseTime = responseTime,
                InitialAge = initialAge,
                Body = body,
                BodyEncoding = bodyEncoding,
                OriginalLength = originalLength,
                Checksum = checksum,
            };
        }
        catch (Exception ex) when (ex is EndOfStreamException or IOException or ArgumentException or DecoderFallbackException or FormatException)
        {
            throw new InvalidDataException("The entry is truncated or malformed.", ex);
        }
    }

    private static BodyChecksum ReadChecksum(BinaryReader reader, byte version)
    {
        var length = reader.ReadInt64();
        var algorithm = version == XxHash3FormatVersion ? BodyChecksumAlgorithm.XxHash3 : (BodyChecksumAlgorithm)reader.ReadByte();
        return algorithm is BodyChecksumAlgorithm.XxHash3 or BodyChecksumAlgorithm.Crc32C
            ? new BodyChecksum(length, reader.ReadUInt64(), algorithm)
            : throw new InvalidDataException($"The entry's body checksum has an unknown algorithm ({(byte)algorithm}).");
    }

    private static int ReadCount(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        // A count larger than the bytes left can only come from corruption; refuse it before allocating.
        if (count < 0 || count > reader.BaseStream.Length - reader.BaseStream.Position)
        {
            throw new InvalidDataException("The entry has an impossible item count.");
        }

        return count;
    }
}
