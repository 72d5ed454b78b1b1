namespace HttpCache.Engine.Storage;

/// <summary>
/// A store that takes and gives bodies as streams, so that caching a body of any size keeps the
/// process's memory flat. The engine streams only large bodies (or bodies of unknown length); smaller
/// ones still go through <see cref="ICacheStore.SetAsync"/>.
/// </summary>
public interface IStreamingCacheStore : ICacheStore
{
    /// <summary>
    /// Starts an entry whose body arrives in pieces. <paramref name="record"/>'s Body is ignored. Nothing
    /// is visible to readers until <see cref="ICacheBodyWriter.CommitAsync"/>, which replaces any entry
    /// with the same key; a writer disposed without committing leaves nothing behind (an interrupted
    /// download is never cached as complete).
    /// </summary>
    Task<ICacheBodyWriter> BeginWriteAsync(CacheRecord record, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens the body of an entry whose <see cref="CacheRecordInfo.BodyStreamed"/> is set (or any entry);
    /// null when the entry is gone. The caller disposes the stream.
    /// </summary>
    Task<Stream?> OpenBodyAsync(string key, CancellationToken cancellationToken = default);
}

/// <summary>Writes one streamed entry. Dispose without <see cref="CommitAsync"/> to abandon it.</summary>
public interface ICacheBodyWriter : IAsyncDisposable
{
    /// <summary>Appends to the body.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes the entry visible, replacing any entry with the same key. <paramref name="metadata"/>, when given,
    /// replaces the record's metadata blob: the engine's can only be complete once the whole body was seen (it
    /// carries the body's length and checksum).
    /// </summary>
    Task CommitAsync(byte[]? metadata = null, CancellationToken cancellationToken = default);
}
