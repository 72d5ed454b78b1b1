using System.Runtime.Versioning;
using System.Security.AccessControl;
using System.Security.Principal;

namespace HttpCache.Engine.Storage;

/// <summary>
/// Folders and files a store creates are for their owner alone: cached answers can be private API data.
/// On Unix a new folder gets mode 0700 and a new file 0600 (the umask can only take more away); on Windows a new
/// folder gets an ACL that grants the current user alone and is not inherited from its parent, and the files
/// created in it inherit that. Folders and files that already exist keep their modes and ACLs: a user who made a
/// cache folder shared on purpose keeps it so.
/// </summary>
internal static class OwnerOnly
{
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the folder (and any missing parent) owner-only; nothing when it exists.</summary>
    public static void CreateDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        // Parents first, so that every folder made here is owner-only, not only the last one.
        if (Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(path)) is { Length: > 0 } parent)
        {
            CreateDirectory(parent);
        }

        try
        {
            if (OperatingSystem.IsWindows())
            {
                new DirectoryInfo(path).Create(OwnerOnlySecurity());
            }
            else
            {
                Directory.CreateDirectory(path, FolderMode);
            }
        }
        catch (IOException) when (Directory.Exists(path))
        {
            // Made meanwhile by another thread or process: it keeps what it was made with.
        }
    }

    /// <summary>A <see cref="FileStream"/> whose file, when this call creates it, is owner-only.</summary>
    public static FileStream Open(string path, System.IO.FileMode mode, FileAccess access, FileShare share, int bufferSize, FileOptions options = FileOptions.None)
    {
        var settings = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows())
        {
            settings.UnixCreateMode = FileMode;
        }

        return new FileStream(path, settings);
    }

    /// <summary>
    /// <see cref="Open"/> for a file written from its start: created owner-only, or emptied when it exists and holds
    /// bytes. Not <see cref="System.IO.FileMode.Create"/>, which truncates every file it opens, a new one too: ext4
    /// takes a truncation to zero for a file being replaced, and its close then allocates and writes back the whole
    /// file before returning (auto_da_alloc), 0.4 s for a gigabyte (docs/performance.md, "Caching a 1 GiB body").
    /// </summary>
    public static FileStream OpenEmpty(string path, FileShare share, int bufferSize)
    {
        var stream = Open(path, System.IO.FileMode.OpenOrCreate, FileAccess.Write, share, bufferSize);
        try
        {
            if (stream.Length > 0)
            {
                stream.SetLength(0);
            }

            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Creates the file empty and owner-only unless it exists (then it is left exactly as it is).</summary>
    public static void CreateFile(string path)
    {
        try
        {
            Open(path, System.IO.FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0).Dispose();
        }
        catch (IOException) when (File.Exists(path) || Directory.Exists(path))
        {
            // Someone else's now (another process made it first, or it was there): it keeps its mode.
        }
    }

    [SupportedOSPlatform("windows")]
    private static DirectorySecurity OwnerOnlySecurity()
    {
        var user = WindowsIdentity.GetCurrent().User!;
        var security = new DirectorySecurity();
        security.SetOwner(user);
        security.SetAccessRuleProtection(isProtected: true, preserveInheritance: false);
        security.AddAccessRule(new FileSystemAccessRule(
            user, FileSystemRights.FullControl, InheritanceFlags.ContainerInherit | InheritanceFlags.ObjectInherit, PropagationFlags.None, AccessControlType.Allow));
        return security;
    }
}
