from artrm.cli import main

main()
