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

/// <summary>
/// A store's body writer that takes the checksum of what it writes itself (with <see cref="BodyChecksum.Written"/>),
/// for a file of its own. The engine puts that checksum in the entry's metadata instead of hashing every byte a
/// second time.
/// </summary>
internal interface IChecksummingBodyWriter
{
    /// <summary>The checksum of the body written so far.</summary>
    BodyChecksum Checksum { get; }
}
