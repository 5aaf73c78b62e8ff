import Foundation
@testable import Runtime
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `StartUpPages.release()` on real file mappings of the test process: clean read-only pages go
/// and come back with the file's contents; a mapping holding a private change is left alone.
@Suite(.serialized) struct StartUpPagesTests {
    static let length = 256 * 1024

    /// A temporary file of `length` bytes with a pattern no page repeats, mapped private with
    /// `protection`; the caller unmaps it and removes the file.
    static func mapFile(protection: Int32) throws -> (pointer: UnsafeMutableRawPointer, path: String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("start-up-pages-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 4096) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        let pointer = try #require(mmap(nil, length, protection, MAP_PRIVATE, fd, 0))
        #expect(pointer != MAP_FAILED)
        return (pointer, path)
    }

    static func expectedByte(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: index &* 31 &+ index / 4096) }

    /// Resident KiB of the mapping that starts at `pointer`, from /proc/self/smaps.
    static func residentKilobytes(at pointer: UnsafeMutableRawPointer) throws -> Int {
        // Foundation's file reading trusts the size stat reports, which is 0 for proc files.
        let text = try #require(StartUpPages.readProcFile("/proc/self/smaps"))
        let mapping = try #require(StartUpPages.parseMappings(text).first { $0.start == Int(bitPattern: pointer) })
        return mapping.residentKilobytes
    }

    /// Sum of every byte (touches every page) and whether each equals the file's.
    static func readAll(_ pointer: UnsafeMutableRawPointer) -> Bool {
        let bytes = pointer.assumingMemoryBound(to: UInt8.self)
        return (0..<length).allSatisfy { bytes[$0] == expectedByte($0) }
    }

    @Test func cleanReadOnlyPagesGoAndComeBackWithTheFilesContents() throws {
        let (pointer, path) = try Self.mapFile(protection: PROT_READ)
        defer { munmap(pointer, Self.length); unlink(path) }
        #expect(Self.readAll(pointer))
        #expect(try Self.residentKilobytes(at: pointer) == Self.length / 1024)

        let released = try #require(StartUpPages.release())
        #expect(released.failures.isEmpty)
        #expect(released.mappings > 0)
        #expect(released.residentKilobytes >= Self.length / 1024)
        #expect(try Self.residentKilobytes(at: pointer) == 0)

        // Read again: the pages fault back in from the page cache with the file's bytes.
        #expect(Self.readAll(pointer))
        #expect(try Self.residentKilobytes(at: pointer) == Self.length / 1024)
    }

    @Test func aMappingWithAPrivateChangeIsLeftAlone() throws {
        let (pointer, path) = try Self.mapFile(protection: PROT_READ | PROT_WRITE)
        defer { munmap(pointer, Self.length); unlink(path) }
        let bytes = pointer.assumingMemoryBound(to: UInt8.self)
        #expect(Self.readAll(pointer))
        bytes[5000] = ~Self.expectedByte(5000)  // copy-on-write: this page is now the process's own
        // Read-only afterwards, as the loader leaves relocated data (RELRO): only the smaps
        // Anonymous count tells it from a clean mapping.
        #expect(mprotect(pointer, Self.length, PROT_READ) == 0)
        let before = try Self.residentKilobytes(at: pointer)

        try #require(StartUpPages.release() != nil)

        #expect(bytes[5000] == ~Self.expectedByte(5000))
        #expect(try Self.residentKilobytes(at: pointer) == before)
    }

    @Test func smapsHeadersAndFieldsAreParsed() {
        let text = """
            55d0c0a00000-55d0c0b00000 r-xp 00001000 fe:00 123 /usr/bin/edge agent
            Size:               1024 kB
            Rss:                 256 kB
            Anonymous:             0 kB
            VmFlags: rd ex mr mw me
            55d0c0b00000-55d0c0b10000 r--p 00100000 fe:00 123 /usr/bin/edge agent
            Rss:                  64 kB
            Anonymous:            64 kB
            7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
            Rss:                  16 kB
            Anonymous:            16 kB
            7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0                          [vdso]
            Rss:                   8 kB
            Anonymous:             0 kB
            """
        let mappings = StartUpPages.parseMappings(text)
        #expect(mappings.map(\.start) == [0x55d0c0a00000, 0x55d0c0b00000, 0x7ffd00000000, 0x7ffd00100000])
        #expect(mappings[0].path == "/usr/bin/edge agent")
        #expect(mappings.map(\.residentKilobytes) == [256, 64, 16, 8])
        #expect(mappings.map(\.isReleasable) == [true, false, false, false])
    }

    /// The test process's own /proc/self/smaps (hundreds of mappings, every field the kernel
    /// writes) parsed as a split into lines and fields reads it: same mappings, same fields.
    @Test func theLiveSmapsParseAsSplittingItIntoFieldsDoes() throws {
        let text = try #require(StartUpPages.readProcFile("/proc/self/smaps"))
        var expected: [StartUpPages.Mapping] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5)
            if let dash = fields[0].firstIndex(of: "-"), fields.count >= 5,
               let start = Int(fields[0][..<dash], radix: 16), let end = Int(fields[0][fields[0].index(after: dash)...], radix: 16) {
                let path = fields.count == 6 ? fields[5].drop(while: { $0 == " " }) : ""
                expected.append(StartUpPages.Mapping(start: start, end: end, permissions: fields[1], path: path))
            } else if fields.count >= 2, let kilobytes = Int(fields[1]), !expected.isEmpty {
                if fields[0] == "Rss:" { expected[expected.count - 1].residentKilobytes = kilobytes }
                if fields[0] == "Anonymous:" { expected[expected.count - 1].anonymousKilobytes = kilobytes }
            }
        }
        #expect(expected.count > 20)
        #expect(expected.contains { $0.path.isEmpty } && expected.contains { $0.anonymousKilobytes > 0 })
        #expect(StartUpPages.parseMappings(text) == expected)
    }

    /// Lines that look like a header or a field but are not the ones `release()` needs.
    @Test func linesThatAreNeitherHeadersNorTheFieldsChangeNothing() {
        let text = """
            00400000-00452000 r-xp 00000000 08:02 173521\u{20}
            SwapPss:               7 kB
            Rss:                  12 kB
            Private_Anonymous:    99 kB
            Anonymous:             3 kB
            Rss: many kB
            VmFlags: rd ex mr mw me dw
            0-1 rw-p 00000000
            7f00-7fff ---p 00000000 00:00 0 /lib/x  (deleted)

            7g00-7fff r--p 00000000 00:00 0 /not/a/header
            Rss:                   5 kB
            """
        let mappings = StartUpPages.parseMappings(text)
        #expect(mappings.map(\.start) == [0x400000, 0x7f00])
        #expect(mappings.map(\.end) == [0x452000, 0x7fff])
        #expect(mappings.map(\.permissions) == ["r-xp", "---p"])
        #expect(mappings.map(\.path) == ["", "/lib/x  (deleted)"])
        #expect(mappings.map(\.residentKilobytes) == [12, 5])
        #expect(mappings.map(\.anonymousKilobytes) == [3, 0])
    }
}
