// Placeholder until `edge-agent meta-train` generates the shipped initialization.

/// The weights of the shipped meta-initialization as IEEE-754 bit patterns.
enum ShippedMetaInitialization {
    /// Architecture widths: encoder hidden, embedding, decoder hidden, head hidden, slot, maximum sensors.
    static let widths: [Int] = []
    /// One bit pattern per parameter, in `Network.parameters` order.
    static let bits: [UInt32] = []
}
