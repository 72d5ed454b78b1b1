namespace HttpCache.Engine.Storage;

/// <summary>
/// A stored body's stream that checks the body against a checksum itself, failing its last read with an
/// <see cref="IOException"/> when length or hash differ. The engine then leaves that work to it instead of hashing
/// every byte a second time.
/// </summary>
internal interface ISelfCheckingBodyStream
{
    /// <summary>What the stream checks the body against.</summary>
    BodyChecksum Checks { get; }
}
