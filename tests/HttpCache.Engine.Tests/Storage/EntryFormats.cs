using System.Globalization;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;
using HttpCache.Engine.Http;
using HttpCache.Engine.Storage;
using HttpCache.Engine.Storage.FileSystem;

namespace HttpCache.Engine.Tests.Storage;

/// <summary>What the tests compare stored entries with, written independently of the engine's code.</summary>
internal static class EntryFormats
{
    /// <summary>CRC-32C, one bit at a time (the reflected polynomial 0x82F63B78), as RFC 3720 §12.1 defines it.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
        {
            crc ^= b;
            for (var bit = 0; bit < 8; bit++)
            {
                crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
            }
        }

        return ~crc;
    }

    /// <summary>
    /// The metadata an earlier release (entry format 3) wrote for the entry <paramref name="metadata"/> describes, with
    /// <paramref name="body"/> as its stored body: the same fields, and the body's length and XxHash3 where format 4 has
    /// its length, algorithm and CRC-32C.
    /// </summary>
    public static byte[] AsFormatThree(CacheRecordInfo record, byte[] metadata, byte[] body)
    {
        // Read as streamed, so that a body other than the one described (to damage an entry) can be given.
        var entry = EntrySerializer.Deserialize(new CacheRecordInfo
        {
            Key = record.Key,
            PrimaryKey = record.PrimaryKey,
            Method = record.Method,
            Uri = record.Uri,
            BodyStreamed = true,
        }, metadata, []);
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write("HC"u8);
            writer.Write((byte)3);
            writer.Write(entry.StatusCode);
            writer.Write(entry.ReasonPhrase is not null);
            if (entry.ReasonPhrase is not null)
            {
                writer.Write(entry.ReasonPhrase);
            }

            writer.Write((byte)entry.Version.Major);
            writer.Write((byte)Math.Max(0, entry.Version.Minor));
            writer.Write(entry.RequestTime.UtcTicks);
            writer.Write(entry.ResponseTime.UtcTicks);
            writer.Write(entry.InitialAge.Ticks);
            writer.Write(entry.BodyEncoding ?? string.Empty);
            writer.Write(entry.BodyEncoding is null ? body.LongLength : entry.OriginalLength);
            writer.Write(body.LongLength);
            writer.Write(XxHash3.HashToUInt64(body));
            writer.Write(entry.Headers.Count);
            foreach (var (name, values) in entry.Headers)
            {
                writer.Write(name);
                writer.Write(values.Length);
                foreach (var value in values)
                {
                    writer.Write(value);
                }
            }

            writer.Write(entry.VaryValues.Count);
            foreach (var (name, value) in entry.VaryValues)
            {
                writer.Write(name);
                writer.Write(value);
            }
        }

        return stream.ToArray();
    }

    /// <summary>
    /// Rewrites the entry <paramref name="key"/> as an earlier release left it, with <paramref name="body"/> as the body
    /// it was written with: its metadata in format 3 (through the store), and on a FileSystem store also its
    /// <c>.meta</c> file, which then named the body's XxHash3 where it now names its CRC-32C. The bytes stored are
    /// <paramref name="stored"/> when given (damage under the checksums of <paramref name="body"/>).
    /// </summary>
    public static async Task AsEarlierReleaseWroteAsync(ICacheStore store, string key, byte[] body, byte[]? stored = null)
    {
        stored ??= body;
        var record = await store.GetAsync(key) ?? throw new InvalidOperationException($"No entry {key}.");
        var metadata = AsFormatThree(record, record.Metadata, body);
        if (record.BodyStreamed)
        {
            // Written again through the streaming writer: the store's layout for streamed bodies is its own business.
            await using var writer = await ((IStreamingCacheStore)store).BeginWriteAsync(CacheRecord.From(record, metadata, []));
            await writer.WriteAsync(stored);
            await writer.CommitAsync(metadata);
        }
        else
        {
            await store.SetAsync(CacheRecord.From(record, metadata, stored));
        }

        if (store is FileSystemCacheStore files)
        {
            var name = FileSystemNames.Of(key);
            var path = Path.Combine(files.Location, FileSystemNames.ShardName(FileSystemNames.ShardOf(name)), name + ".meta");
            var meta = JsonNode.Parse(await File.ReadAllBytesAsync(path))!.AsObject();
            Assert.True(meta.Remove("bodyCrc32c"), "a .meta file names its body's CRC-32C");
            meta["bodyXxHash3"] = XxHash3.HashToUInt64(body).ToString("x16", CultureInfo.InvariantCulture);
            await File.WriteAllTextAsync(path, meta.ToJsonString());
        }
    }
}
