using System.Globalization;

namespace HttpCache.Engine.Storage.Sqlite;

/// <summary>
/// Streamed bodies as files of their own (schema 7), in a folder beside the database (<c>&lt;database&gt;.bodies</c>),
/// one file per write, named by its write id (<c>&lt;write id&gt;.body</c>). SQLite's own advice for blobs over about
/// 100 KB: a body's bytes reach the disk once, through the page cache, where rows went through the WAL and then the
/// database file, both synced at every checkpoint.
/// </summary>
/// <remarks>
/// <para>
/// A file is never synced: every read checks the body's length and checksum (kept in the entry's metadata), so a
/// file a power loss left short or stale is found damaged, removed and fetched again, as on the FileSystem backend.
/// The database stays durable as before, and so the other entries.
/// </para>
/// <para>
/// Write ids come from <c>AUTOINCREMENT</c> and are never reused in a database, so a name is never given to two
/// bodies. Files are deleted after the transaction that stopped pointing at them commits (deleting first would break a
/// transaction that then rolls back); a file a crash left in between points nowhere, and <see cref="SweepOrphans"/>
/// deletes it when a store next opens the database. A reader keeps its file open, not a transaction: a file deleted
/// under it stays readable to the end (Unix unlinks; on Windows every handle shares deletion).
/// </para>
/// </remarks>
internal sealed class SqliteBodyFiles
{
    private const string Extension = ".body";

    // Every write id a file may belong to, in one statement (one snapshot, read after the files were listed: a write
    // registers itself before it creates its file, and its commit swaps pending for entry in one step). The entries'
    // side reads ix_entries_write_id alone.
    private const string ReferencedSql = """
        SELECT id FROM pending_writes UNION ALL SELECT write_id FROM entries WHERE write_id IS NOT NULL
        """;

    public SqliteBodyFiles(string databasePath) => Folder = databasePath + ".bodies";

    /// <summary>The folder of body files.</summary>
    public string Folder { get; }

    /// <summary>The file of one write's body.</summary>
    public string PathOf(long writeId) => Path.Combine(Folder, writeId.ToString(CultureInfo.InvariantCulture) + Extension);

    /// <summary>
    /// The new file of a write, owner-only like the database. It replaces a file of that name left by a database that
    /// was deleted and started again beside the same folder (ids start over there).
    /// </summary>
    public FileStream Create(long writeId)
    {
        OwnerOnly.CreateDirectory(Folder);
        // Shared for deletion: a cleanup that took this write for abandoned may delete it under the writer (on Windows too).
        return OwnerOnly.OpenEmpty(PathOf(writeId), FileShare.Read | FileShare.Delete, bufferSize: 64 * 1024);
    }

    /// <summary>A body file opened for reading, or null when it is not there.</summary>
    public FileStream? Open(long writeId)
    {
        try
        {
            return new FileStream(PathOf(writeId), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Deletes the files of these writes, best effort: one that cannot go now is swept when a store next opens.</summary>
    public void Delete(IReadOnlyCollection<long> writeIds)
    {
        foreach (var writeId in writeIds)
        {
            Delete(writeId);
        }
    }

    /// <inheritdoc cref="Delete(IReadOnlyCollection{long})"/>
    public void Delete(long writeId)
    {
        try
        {
            File.Delete(PathOf(writeId));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Left for the sweep.
        }
    }

    /// <summary>
    /// Deletes the body files that neither a pending write nor an entry points at (what a crash left between a commit
    /// and its file deletions, or a database started again beside an old folder). Returns how many went.
    /// </summary>
    public int SweepOrphans(PooledConnection connection)
    {
        List<long> seen;
        try
        {
            if (!Directory.Exists(Folder))
            {
                return 0;
            }

            // Listed before the database is asked: a file seen here was created after its write registered.
            seen = Directory.EnumerateFiles(Folder, "*" + Extension)
                .Select(path => long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0)
                .Where(id => id > 0)
                .ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        if (seen.Count == 0)
        {
            return 0;
        }

        var referenced = new HashSet<long>();
        using (var reader = connection.Command(ReferencedSql).ExecuteReader())
        {
            while (reader.Read())
            {
                referenced.Add(reader.GetInt64(0));
            }
        }

        var swept = 0;
        foreach (var writeId in seen.Where(id => !referenced.Contains(id)))
        {
            Delete(writeId);
            swept++;
        }

        return swept;
    }
}

/// <summary>A body file read back (in place), from the position it was opened at; the engine checks its bytes against the entry's checksum as they pass.</summary>
internal sealed class SqliteBodyFileStream(FileStream file, long length) : InPlaceReadStream
{
    public override bool CanRead => file.CanRead;

    /// <summary>The body's length, as the entry gives it (the file was found that long when opened).</summary>
    public override long Length => length;

    public override long Position { get => file.Position; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer) => file.Read(buffer);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            file.Dispose();
        }

        base.Dispose(disposing);
    }
}
